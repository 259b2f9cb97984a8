#pragma once
// Circuit breaker for one endpoint: stops sending to an endpoint that keeps
// failing, so a dead GPU server is probed once every circuit_open_s instead
// of hammered by every queued request.
//
//   closed ──(threshold consecutive retryable failures)──► open
//   open ──(open_duration elapsed, next try_acquire)──► half_open: one probe
//   half_open ──probe succeeds──► closed      half_open ──probe fails──► open
//
// Outcomes are ordered by when their requests were sent, not by when they
// came back: the newest evidence about the server wins. A success of a
// request sent before the newest failure's (an answer already under way when
// the outage began, as a load balancer's old backend still finishes its
// requests) neither closes an open circuit nor resets the failure count, and
// a failure sent before the newest success is just as stale. Without this, a
// few such late answers re-closed the circuit during an outage and every
// re-close let waiting requests out to fail and spend attempts.
//
// The breaker only answers "may a request be sent now"; the caller keeps
// requests that may not waiting (they neither fail nor use up attempts).
// Time is passed in, never read, so tests drive it with a fake clock.
// Not thread-safe: the owner serialises calls (InferenceClient uses a strand).
#include <chrono>
#include <optional>
#include <string_view>

namespace beacon::infer {

enum class CircuitState { closed, open, half_open };
std::string_view to_string(CircuitState s);

// Answer to "may I send": denied, yes, or yes as the half-open probe.
enum class Permit { denied, granted, probe };

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;

  CircuitBreaker(int failure_threshold, Clock::duration open_duration);

  // Whether a request may be sent now. After granted or probe the caller
  // reports the attempt's end with exactly one of on_success / on_failure /
  // on_neutral. In half_open only one probe is out at a time.
  Permit acquire(Clock::time_point now);

  // The endpoint answered a request sent at `sent_at` in a way that shows it
  // is healthy (any response that is not a retryable failure, e.g. 200 or
  // 400): closes the circuit, unless a failure was sent later.
  void on_success(Clock::time_point sent_at);
  // A retryable failure (connect error, timeout, reset, 408, 429, 5xx) of a
  // request sent at `sent_at`, reported at `now`; ignored when a success was
  // sent later.
  void on_failure(Clock::time_point now, Clock::time_point sent_at);
  // The attempt says nothing about health (aborted, TLS or client-side
  // error): a probe's slot is freed for the next request to probe.
  void on_neutral(Permit permit);

  CircuitState state() const { return state_; }
  int consecutive_failures() const { return consecutive_failures_; }
  // While open: when the next probe may go out.
  std::optional<Clock::time_point> probe_at() const;

 private:
  void open(Clock::time_point now);

  int threshold_;
  Clock::duration open_duration_;
  CircuitState state_ = CircuitState::closed;
  int consecutive_failures_ = 0;
  Clock::time_point open_until_{};
  bool probe_in_flight_ = false;
  std::optional<Clock::time_point> newest_success_sent_, newest_failure_sent_;
};

}  // namespace beacon::infer
