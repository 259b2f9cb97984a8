#pragma once
// The reconnect loops' backoff: the state (attempts so far, the random
// source) around beacon's one backoff formula (core/backoff.hpp).
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
