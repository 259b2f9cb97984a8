#pragma once
// The capacity one worker holds of a fleet-wide rate limit (rate_limits.hpp),
// for one dimension (requests or tokens). Capacity arrives in leases from the
// shared bucket: "`amount` units, spread evenly over [start, end]". A lease
// accrues linearly, so a worker that holds a lease for 2 s of the fleet's
// schedule sends its share across those 2 s instead of bursting it, and the
// fleet as a whole sends at the bucket's rate.
//
// Use it or lose it: capacity that accrued and was not used within kBurst is
// forfeited (the balance never holds more than kBurst's worth of the live
// leases' rate, or one unit), and whatever is left when the last lease ends
// (plus kBurst) goes too. So a worker that was stalled (a busy machine, a
// long GC-like pause of the process) cannot send a whole lease at once on
// top of what other workers were granted for the same moment: its burst is
// bounded by kBurst of its share. Tokens may go into debt (a request's
// estimate only needs the balance to be positive; usage corrections can
// subtract more): later leases pay the debt before anything else is sent.
#include <chrono>
#include <deque>
#include <optional>

namespace beacon::infer {

class LeaseSchedule {
 public:
  using Clock = std::chrono::steady_clock;
  // How long accrued capacity may wait to be used: covers timer lag between
  // the moment capacity accrues and the request it lets out.
  static constexpr std::chrono::milliseconds kBurst{250};

  // Adds a lease; start <= end. Leases of one worker come from one bucket in
  // time order, so they do not overlap.
  void add(double amount, Clock::time_point start, Clock::time_point end);
  // Accrued and not used nor forfeited, debt included (may be negative).
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
    double per_second() const;
  };
  // Accrues the live leases up to `now` (never backwards), caps the balance
  // at the burst and drops leases that ended more than kBurst ago.
  void advance(Clock::time_point now);

  std::deque<Lease> live_;
  double balance_ = 0;            // accrued minus used and forfeited
  Clock::time_point accrued_to_{};  // the leases' accrual is in balance_ up to here
};

}  // namespace beacon::infer
