#pragma once
// Capped exponential backoff with full jitter, for reconnect loops:
//   ceiling(n) = min(max, initial * multiplier^n);  delay = uniform[0, ceiling(n)]
// Full jitter spreads a fleet of workers that lost the broker at the same
// moment, so they do not all knock again in lock-step.
#include <chrono>
#include <cstdint>
#include <functional>

namespace beacon::amqp {

struct BackoffOptions {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{30000};
  double multiplier = 2.0;
};

class Backoff {
 public:
  // Returns a number uniformly distributed in [0, 1). Injected by tests.
  using Uniform = std::function<double()>;

  explicit Backoff(BackoffOptions options = {});
  Backoff(BackoffOptions options, Uniform uniform);

  // The delay to wait before the next attempt; each call raises the ceiling.
  std::chrono::milliseconds next();
  // After a success: the next failure starts again from `initial`.
  void reset();
  // The ceiling the next call to next() draws under (for logs and tests).
  std::chrono::milliseconds ceiling() const;
  int attempts() const { return attempts_; }

 private:
  BackoffOptions options_;
  Uniform uniform_;
  int attempts_ = 0;
};

}  // namespace beacon::amqp
