#include <beacon/amqp/backoff.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

namespace beacon::amqp {
namespace {

using std::chrono::milliseconds;

BackoffOptions opts() { return {milliseconds(100), milliseconds(1000), 2.0}; }

TEST(Backoff, CeilingGrowsExponentiallyThenCaps) {
  Backoff b(opts(), [] { return 0.5; });
  const milliseconds expected[] = {milliseconds(100), milliseconds(200), milliseconds(400),
                                   milliseconds(800), milliseconds(1000), milliseconds(1000)};
  for (const auto ceiling : expected) {
    EXPECT_EQ(b.ceiling(), ceiling);
    EXPECT_EQ(b.next(), ceiling / 2);
  }
}

TEST(Backoff, FullJitterSpansZeroToCeiling) {
  Backoff low(opts(), [] { return 0.0; });
  Backoff high(opts(), [] { return 0.999999; });
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(low.next(), milliseconds(0));
    const milliseconds ceiling = high.ceiling();
    const milliseconds d = high.next();
    EXPECT_LE(d, ceiling);
    EXPECT_GE(d, ceiling - milliseconds(1));
  }
}

TEST(Backoff, StaysWithinBoundsWithTheRealEngine) {
  Backoff b(opts());
  for (int i = 0; i < 1000; ++i) {
    const milliseconds ceiling = b.ceiling();
    const milliseconds d = b.next();
    EXPECT_GE(d, milliseconds(0));
    EXPECT_LE(d, ceiling);
    EXPECT_LE(d, milliseconds(1000));
  }
}

TEST(Backoff, ManyAttemptsDoNotOverflow) {
  Backoff b(opts(), [] { return 0.999; });
  for (int i = 0; i < 5000; ++i) b.next();
  EXPECT_EQ(b.ceiling(), milliseconds(1000));
  EXPECT_LE(b.next(), milliseconds(1000));
}

TEST(Backoff, MisbehavingRandomSourceIsClamped) {
  Backoff b(opts(), [] { return 7.0; });
  EXPECT_EQ(b.next(), milliseconds(100));
  Backoff n(opts(), [] { return -3.0; });
  EXPECT_EQ(n.next(), milliseconds(0));
}

TEST(Backoff, ResetStartsOver) {
  Backoff b(opts(), [] { return 0.5; });
  b.next();
  b.next();
  b.next();
  EXPECT_EQ(b.attempts(), 3);
  b.reset();
  EXPECT_EQ(b.attempts(), 0);
  EXPECT_EQ(b.ceiling(), milliseconds(100));
}

TEST(Backoff, RejectsNonsenseOptions) {
  EXPECT_THROW(Backoff({milliseconds(0), milliseconds(10), 2.0}), std::invalid_argument);
  EXPECT_THROW(Backoff({milliseconds(100), milliseconds(10), 2.0}), std::invalid_argument);
  EXPECT_THROW(Backoff({milliseconds(100), milliseconds(1000), 0.5}), std::invalid_argument);
}

}  // namespace
}  // namespace beacon::amqp
