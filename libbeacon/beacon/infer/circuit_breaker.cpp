#include <beacon/infer/circuit_breaker.hpp>

#include <algorithm>

namespace beacon::infer {

std::string_view to_string(CircuitState s) {
  switch (s) {
    case CircuitState::closed:
      return "closed";
    case CircuitState::open:
      return "open";
    case CircuitState::half_open:
      return "half_open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(int failure_threshold, Clock::duration open_duration)
    : threshold_(std::max(1, failure_threshold)), open_duration_(open_duration) {}

Permit CircuitBreaker::acquire(Clock::time_point now) {
  switch (state_) {
    case CircuitState::closed:
      return Permit::granted;
    case CircuitState::open:
      if (now < open_until_) return Permit::denied;
      state_ = CircuitState::half_open;
      probe_in_flight_ = true;
      return Permit::probe;
    case CircuitState::half_open:
      if (probe_in_flight_) return Permit::denied;
      probe_in_flight_ = true;
      return Permit::probe;
  }
  return Permit::denied;
}

void CircuitBreaker::on_success(Clock::time_point sent_at) {
  if (newest_failure_sent_ && sent_at < *newest_failure_sent_) return;  // older than the failures: stale
  newest_success_sent_ = std::max(sent_at, newest_success_sent_.value_or(sent_at));
  state_ = CircuitState::closed;
  consecutive_failures_ = 0;
  probe_in_flight_ = false;
}

void CircuitBreaker::on_failure(Clock::time_point now, Clock::time_point sent_at) {
  // Sent before a request that succeeded: stale. Never a probe: while the
  // circuit is open only the probe is sent, so it is always the newest.
  if (newest_success_sent_ && sent_at < *newest_success_sent_) return;
  newest_failure_sent_ = std::max(sent_at, newest_failure_sent_.value_or(sent_at));
  ++consecutive_failures_;
  switch (state_) {
    case CircuitState::closed:
      if (consecutive_failures_ >= threshold_) open(now);
      break;
    case CircuitState::half_open:
      open(now);  // the probe failed: another full wait before the next one
      break;
    case CircuitState::open:
      break;  // a request sent before the circuit opened: the wait already runs
  }
}

void CircuitBreaker::on_neutral(Permit permit) {
  if (permit == Permit::probe) probe_in_flight_ = false;
}

std::optional<CircuitBreaker::Clock::time_point> CircuitBreaker::probe_at() const {
  if (state_ != CircuitState::open) return std::nullopt;
  return open_until_;
}

void CircuitBreaker::open(Clock::time_point now) {
  state_ = CircuitState::open;
  open_until_ = now + open_duration_;
  probe_in_flight_ = false;
}

}  // namespace beacon::infer
