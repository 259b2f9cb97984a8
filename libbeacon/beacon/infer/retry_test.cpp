#include <beacon/infer/retry.hpp>

#include <gtest/gtest.h>

namespace beacon::infer {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Retry, HttpStatusClassification) {
  EXPECT_EQ(classify_http_status(200), Verdict::success);
  EXPECT_EQ(classify_http_status(204), Verdict::success);
  for (int s : {408, 429, 500, 502, 503, 504}) EXPECT_EQ(classify_http_status(s), Verdict::retry) << s;
  for (int s : {301, 400, 401, 403, 404, 413, 422}) EXPECT_EQ(classify_http_status(s), Verdict::fail) << s;
}

TEST(Retry, TransportErrorClassification) {
  for (auto k : {ErrorKind::connect, ErrorKind::timeout, ErrorKind::reset}) EXPECT_EQ(classify_transport_error(k), Verdict::retry) << k;
  for (auto k : {ErrorKind::tls, ErrorKind::oversized, ErrorKind::protocol, ErrorKind::aborted, ErrorKind::redirect_refused}) EXPECT_EQ(classify_transport_error(k), Verdict::fail) << k;
}

TEST(Retry, RetryAfterSeconds) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after("1", now), milliseconds(1000));
  EXPECT_EQ(parse_retry_after(" 120 ", now), milliseconds(120000));
  EXPECT_EQ(parse_retry_after("0", now), milliseconds(0));
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("-1", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_EQ(parse_retry_after("99999999999999999999", now), std::chrono::hours(24));
}

TEST(Retry, RetryAfterHttpDate) {
  // 2015-10-21T07:28:00Z
  const auto now = std::chrono::system_clock::from_time_t(1445412480);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), milliseconds(30000));
  EXPECT_EQ(parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now), milliseconds(60000));
  EXPECT_EQ(parse_retry_after("Wed Oct 21 07:28:05 2015", now), milliseconds(5000));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), milliseconds(0));  // past
  EXPECT_FALSE(parse_retry_after("Wed, 32 Oct 2015 07:00:00 GMT", now));
  EXPECT_FALSE(parse_retry_after("Wed, 21 Foo 2015 07:00:00 GMT", now));
}

TEST(Retry, BackoffGrowsExponentiallyWithinBounds) {
  const BackoffPolicy p{500, 30000};
  // Full jitter under the ceiling min(max, initial * 2^(retry-1)) (core/backoff.hpp).
  EXPECT_EQ(backoff_delay(1, p, std::nullopt, 0.0), milliseconds(0));
  EXPECT_EQ(backoff_delay(1, p, std::nullopt, 0.99), milliseconds(495));  // first ceiling is the initial delay
  EXPECT_EQ(backoff_delay(2, p, std::nullopt, 0.999999), milliseconds(999));
  EXPECT_EQ(backoff_delay(3, p, std::nullopt, 0.5), milliseconds(1000));  // 0.5 * 2000
  EXPECT_EQ(backoff_delay(20, p, std::nullopt, 0.999999), milliseconds(29999));
  EXPECT_EQ(backoff_delay(1000, p, std::nullopt, 1.0), milliseconds(30000));
  for (int retry = 1; retry < 40; ++retry) {
    for (double u : {0.0, 0.3, 0.7, 0.9999}) {
      auto d = backoff_delay(retry, p, std::nullopt, u);
      EXPECT_GE(d, milliseconds(0));
      EXPECT_LE(d, std::min<milliseconds>(milliseconds(30000), milliseconds(500) * (1LL << std::min(retry - 1, 30))));
    }
  }
}

TEST(Retry, BackoffHonoursRetryAfterUpToTheMax) {
  const BackoffPolicy p{500, 30000};
  EXPECT_EQ(backoff_delay(1, p, milliseconds(1000), 0.0), milliseconds(1000));   // lower bound
  EXPECT_EQ(backoff_delay(6, p, milliseconds(1000), 0.99), backoff_delay(6, p, std::nullopt, 0.99));  // already longer
  EXPECT_EQ(backoff_delay(1, p, seconds(3600), 0.0), milliseconds(30000));       // capped
  EXPECT_EQ(backoff_delay(1, p, milliseconds(0), 0.0), milliseconds(0));
}

}  // namespace
}  // namespace beacon::infer
