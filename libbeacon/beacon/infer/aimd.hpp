#pragma once
// max_in_flight: "auto" (self-hosted servers publish no limit): the in-flight
// cap grows by one per cap's worth of successes (additive increase, about one
// per round trip) and halves on an overload signal (429, 503, timeout),
// between min_in_flight and max_in_flight_limit. One overload episode halves
// once: failures of requests sent before the last decrease were caused by the
// old, larger cap and are ignored.
#include <chrono>

namespace beacon::infer {

class Aimd {
 public:
  using Clock = std::chrono::steady_clock;
  Aimd(int min_limit, int max_limit);
  int limit() const { return static_cast<int>(cap_); }
  void on_success();
  // `sent_at`: when the failed request went out. True when the cap decreased.
  bool on_overload(Clock::time_point sent_at, Clock::time_point now);
  void set_bounds(int min_limit, int max_limit);

 private:
  double min_;
  double max_;
  double cap_;
  Clock::time_point last_decrease_{};
};

}  // namespace beacon::infer
