#pragma once
// Cancel notices this worker received (control_message.hpp states the rule):
// per job, the highest submission cancelled. A message of that job with a
// submission <= it is dropped without inference; a later re-submit runs.
// Fencing by submission means a notice can be trusted for a long time: it
// is forgotten after kCancelMemory only to bound memory, and from then on the
// database (through the preflight) decides.
#include <chrono>
#include <functional>
#include <map>
#include <string>

#include <beacon/core/control_message.hpp>

namespace beacon {

inline constexpr std::chrono::minutes kCancelMemory{10};

class CancelMemory {
 public:
  using Clock = std::chrono::steady_clock;
  explicit CancelMemory(std::function<Clock::time_point()> now = [] { return Clock::now(); },
                        Clock::duration keep = kCancelMemory);

  void remember(const CancelNotice& notice);
  bool cancels(const ExecutionMessage& message);
  // Why the job's remembered cancel was made (cancel when nothing is known).
  // A budget stop is not overwritten by a plain cancel of the same
  // submission (the preflight, which finds the job cancelled in Postgres,
  // remembers a plain one).
  CancelReason reason(const std::string& job_id) const;

 private:
  struct Entry {
    int submission = 0;
    CancelReason reason = CancelReason::cancel;
    Clock::time_point at;
  };
  std::function<Clock::time_point()> now_;
  Clock::duration keep_;
  std::map<std::string, Entry> jobs_;
};

}  // namespace beacon
