#include <beacon/infer/circuit_breaker.hpp>

#include <gtest/gtest.h>

namespace beacon::infer {
namespace {

using namespace std::chrono_literals;
using Clock = CircuitBreaker::Clock;

TEST(CircuitBreaker, OpensAfterThresholdConsecutiveFailures) {
  Clock::time_point t{};
  CircuitBreaker cb(3, 10s);
  EXPECT_EQ(cb.acquire(t), Permit::granted);
  cb.on_failure(t);
  cb.on_failure(t);
  EXPECT_EQ(cb.state(), CircuitState::closed);
  cb.on_success();  // resets the count
  cb.on_failure(t);
  cb.on_failure(t);
  EXPECT_EQ(cb.state(), CircuitState::closed);
  cb.on_failure(t);
  EXPECT_EQ(cb.state(), CircuitState::open);
  EXPECT_EQ(cb.probe_at(), t + 10s);
  EXPECT_EQ(cb.acquire(t + 9s), Permit::denied);
}

TEST(CircuitBreaker, HalfOpenAllowsOneProbeAndSuccessCloses) {
  Clock::time_point t{};
  CircuitBreaker cb(1, 10s);
  cb.on_failure(t);
  ASSERT_EQ(cb.state(), CircuitState::open);
  EXPECT_EQ(cb.acquire(t + 10s), Permit::probe);
  EXPECT_EQ(cb.state(), CircuitState::half_open);
  EXPECT_EQ(cb.acquire(t + 10s), Permit::denied);  // one probe at a time
  cb.on_success();
  EXPECT_EQ(cb.state(), CircuitState::closed);
  EXPECT_EQ(cb.acquire(t + 10s), Permit::granted);
  EXPECT_EQ(cb.acquire(t + 10s), Permit::granted);
}

TEST(CircuitBreaker, FailedProbeReopensForAnotherFullPeriod) {
  Clock::time_point t{};
  CircuitBreaker cb(2, 5s);
  cb.on_failure(t);
  cb.on_failure(t);
  ASSERT_EQ(cb.acquire(t + 5s), Permit::probe);
  cb.on_failure(t + 6s);
  EXPECT_EQ(cb.state(), CircuitState::open);
  EXPECT_EQ(cb.probe_at(), t + 11s);
  EXPECT_EQ(cb.acquire(t + 10s), Permit::denied);
  EXPECT_EQ(cb.acquire(t + 11s), Permit::probe);
}

TEST(CircuitBreaker, NeutralProbeResultFreesTheProbeSlot) {
  Clock::time_point t{};
  CircuitBreaker cb(1, 1s);
  cb.on_failure(t);
  ASSERT_EQ(cb.acquire(t + 1s), Permit::probe);
  cb.on_neutral(Permit::granted);  // a request from before the opening: not the probe
  EXPECT_EQ(cb.acquire(t + 1s), Permit::denied);
  cb.on_neutral(Permit::probe);  // the probe was aborted
  EXPECT_EQ(cb.state(), CircuitState::half_open);
  EXPECT_EQ(cb.acquire(t + 1s), Permit::probe);
}

TEST(CircuitBreaker, LateFailuresWhileOpenDoNotExtendTheWait) {
  Clock::time_point t{};
  CircuitBreaker cb(1, 10s);
  cb.on_failure(t);
  cb.on_failure(t + 5s);  // in flight before the circuit opened
  EXPECT_EQ(cb.probe_at(), t + 10s);
}

TEST(CircuitBreaker, SuccessWhileOpenCloses) {
  Clock::time_point t{};
  CircuitBreaker cb(1, 10s);
  cb.on_failure(t);
  cb.on_success();  // an older request got through: the endpoint is back
  EXPECT_EQ(cb.state(), CircuitState::closed);
  EXPECT_EQ(cb.acquire(t), Permit::granted);
}

}  // namespace
}  // namespace beacon::infer
