#include <beacon/amqp/confirm_tracker.hpp>

#include <gtest/gtest.h>

namespace beacon::amqp {
namespace {

std::vector<std::uint64_t> seqs(const std::vector<Confirm>& cs) {
  std::vector<std::uint64_t> out;
  for (const auto& c : cs) out.push_back(c.seq);
  return out;
}

TEST(ConfirmTracker, NumbersFromOneLikeTheBroker) {
  ConfirmTracker t;
  EXPECT_EQ(t.next_seq(), 1u);
  EXPECT_EQ(t.on_publish(), 1u);
  EXPECT_EQ(t.on_publish(), 2u);
  EXPECT_EQ(t.unconfirmed(), 2u);
}

TEST(ConfirmTracker, SingleAck) {
  ConfirmTracker t;
  t.on_publish();
  t.on_publish();
  t.on_ack(2, false);
  const auto cs = t.take();
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].seq, 2u);
  EXPECT_TRUE(cs[0].ok);
  EXPECT_TRUE(cs[0].reason.empty());
  EXPECT_EQ(t.unconfirmed(), 1u);
  EXPECT_TRUE(t.take().empty());
}

TEST(ConfirmTracker, MultipleAckCoversEverythingUpToTheTag) {
  ConfirmTracker t;
  for (int i = 0; i < 5; ++i) t.on_publish();
  t.on_ack(2, false);
  t.take();
  t.on_ack(4, true);
  const auto cs = t.take();
  EXPECT_EQ(seqs(cs), (std::vector<std::uint64_t>{1, 3, 4}));
  for (const auto& c : cs) EXPECT_TRUE(c.ok);
  EXPECT_EQ(t.unconfirmed(), 1u);
}

TEST(ConfirmTracker, NackIsAFailure) {
  ConfirmTracker t;
  for (int i = 0; i < 3; ++i) t.on_publish();
  t.on_nack(3, true);
  const auto cs = t.take();
  ASSERT_EQ(cs.size(), 3u);
  for (const auto& c : cs) {
    EXPECT_FALSE(c.ok);
    EXPECT_EQ(c.reason, "nack");
  }
}

TEST(ConfirmTracker, ReturnThenAckIsAFailureWithTheReason) {
  ConfirmTracker t;
  for (int i = 0; i < 3; ++i) t.on_publish();
  t.on_return(2, "returned: NO_ROUTE");
  EXPECT_EQ(t.unconfirmed(), 3u);  // a return alone resolves nothing
  EXPECT_FALSE(t.has_resolved());
  t.on_ack(3, true);  // the broker coalesces acks: 1..3 in one frame
  const auto cs = t.take();
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_TRUE(cs[0].ok);
  EXPECT_FALSE(cs[1].ok);
  EXPECT_EQ(cs[1].reason, "returned: NO_ROUTE");
  EXPECT_TRUE(cs[2].ok);
}

TEST(ConfirmTracker, UnknownTagsAreIgnored) {
  ConfirmTracker t;
  t.on_publish();
  t.on_ack(7, false);
  t.on_return(9, "returned: NO_ROUTE");
  EXPECT_TRUE(t.take().empty());
  t.on_ack(1, false);
  t.on_ack(1, false);  // a duplicate resolves nothing twice
  EXPECT_EQ(t.take().size(), 1u);
}

TEST(ConfirmTracker, ResetRestartsNumberingAndForgets) {
  ConfirmTracker t;
  t.on_publish();
  t.on_publish();
  t.on_ack(1, false);
  t.reset();
  EXPECT_EQ(t.unconfirmed(), 0u);
  EXPECT_TRUE(t.take().empty());
  EXPECT_EQ(t.on_publish(), 1u);
}

}  // namespace
}  // namespace beacon::amqp
