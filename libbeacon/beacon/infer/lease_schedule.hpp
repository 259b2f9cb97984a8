#pragma once
// The capacity one worker holds of a fleet-wide rate limit (rate_limits.hpp),
// for one dimension (requests or tokens). Capacity arrives in leases from the
// shared bucket: "`amount` units, spread evenly over [start, end]". A lease
// accrues linearly, so a worker that holds a lease for 2 s of the fleet's
// schedule sends its share across those 2 s instead of bursting it, and the
// fleet as a whole sends at the bucket's rate.
//
// What was accrued and not used by the time its lease ended (plus a short
// grace) is forfeited: capacity cannot be hoarded and spent later on top of
// what other workers were granted meanwhile. Tokens may go into debt (a
// request's estimate only needs the balance to be positive; usage corrections
// can subtract more): later leases pay the debt before anything else is sent.
#include <chrono>
#include <deque>
#include <optional>

namespace beacon::infer {

class LeaseSchedule {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kGrace{250};  // timer lag between a lease's end and its use

  // Adds a lease; start <= end. Leases of one worker come from one bucket in
  // time order, so they do not overlap.
  void add(double amount, Clock::time_point start, Clock::time_point end);
  // Accrued and not used, debt included (may be negative). Folds finished leases.
  double available(Clock::time_point now);
  // Booked in live leases but not yet accrued: what the schedule still brings.
  double ahead(Clock::time_point now);
  // Uses `amount` (may drive the balance negative: token debt).
  void take(double amount) { balance_ -= amount; }
  // Gives back (a usage correction below the estimate).
  void give_back(double amount) { balance_ += amount; }
  // When available() reaches `needed` from the leases held; nullopt when they
  // do not hold enough (a new lease is needed first).
  std::optional<Clock::time_point> when_available(double needed, Clock::time_point now);
  // The end of the last lease held; nullopt when none is live.
  std::optional<Clock::time_point> booked_until(Clock::time_point now);
  void clear();

 private:
  struct Lease {
    double amount;
    Clock::time_point start;
    Clock::time_point end;
    double accrued(Clock::time_point now) const;
  };
  void fold(Clock::time_point now);

  std::deque<Lease> live_;
  double balance_ = 0;  // finished leases' amounts minus everything used
};

}  // namespace beacon::infer
