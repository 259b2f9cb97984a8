#pragma once
// The one backoff formula of beacon, used by the broker reconnect loops
// (amqp::Backoff) and by endpoint retries (infer::backoff_delay): capped
// exponential with full jitter,
//   ceiling(n) = min(max, initial * multiplier^n)     n = failures so far - 1
//   delay      = u * ceiling(n)                       u uniform in [0, 1)
// Full jitter spreads a fleet that failed at the same moment, so its members
// do not all knock again in lock-step.
#include <chrono>

namespace beacon {

struct BackoffShape {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{30000};
  double multiplier = 2.0;
};

std::chrono::milliseconds backoff_ceiling(int n, const BackoffShape& shape);
// `u` is clamped to [0, 1]; the result never exceeds the ceiling.
std::chrono::milliseconds full_jitter_delay(int n, const BackoffShape& shape, double u);

}  // namespace beacon
