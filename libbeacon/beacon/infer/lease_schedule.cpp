#include <beacon/infer/lease_schedule.hpp>

#include <algorithm>

namespace beacon::infer {

double LeaseSchedule::Lease::accrued(Clock::time_point now) const {
  if (now >= end) return amount;
  if (now <= start) return 0;
  const double total = std::chrono::duration<double>(end - start).count();
  const double done = std::chrono::duration<double>(now - start).count();
  return amount * done / total;
}

double LeaseSchedule::Lease::per_second() const {
  const double span = std::chrono::duration<double>(end - start).count();
  return span > 0 ? amount / span : 0;
}

void LeaseSchedule::add(double amount, Clock::time_point start, Clock::time_point end) {
  if (amount <= 0) return;
  live_.push_back({amount, start, std::max(start, end)});
}

void LeaseSchedule::advance(Clock::time_point now) {
  if (now > accrued_to_) {
    for (const auto& l : live_) balance_ += l.accrued(now) - l.accrued(accrued_to_);
    accrued_to_ = now;
  }
  now = accrued_to_;
  while (!live_.empty() && live_.front().end + kBurst <= now) live_.pop_front();
  // The most the balance may hold: kBurst of the rate of the leases that
  // cover this moment (one unit at least, so a slow lease of a single
  // request can still be used); nothing once no lease covers it. A debt
  // (negative balance) is kept whatever the cap.
  double cap = 0;
  bool covered = false;
  for (const auto& l : live_) {
    if (l.start > now) continue;
    covered = true;
    cap += l.per_second() * std::chrono::duration<double>(kBurst).count();
  }
  if (covered) cap = std::max(cap, 1.0);
  balance_ = std::min(balance_, cap);
}

double LeaseSchedule::available(Clock::time_point now) {
  advance(now);
  return balance_;
}

double LeaseSchedule::ahead(Clock::time_point now) {
  advance(now);
  double sum = 0;
  for (const auto& l : live_) sum += l.amount - l.accrued(accrued_to_);
  return sum;
}

std::optional<LeaseSchedule::Clock::time_point> LeaseSchedule::when_available(double needed,
                                                                              Clock::time_point now) {
  double deficit = needed - available(now);
  if (deficit <= 0) return now;
  now = accrued_to_;
  for (const auto& l : live_) {
    const double remaining = l.amount - l.accrued(now);
    if (remaining <= 0) continue;
    if (deficit <= remaining) {
      const auto from = std::max(now, l.start);
      const double per_second = l.per_second();
      if (per_second <= 0) return from;
      return from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(deficit / per_second));
    }
    deficit -= remaining;
  }
  return std::nullopt;
}

std::optional<LeaseSchedule::Clock::time_point> LeaseSchedule::booked_until(Clock::time_point now) {
  advance(now);
  if (live_.empty()) return std::nullopt;
  return live_.back().end;
}

void LeaseSchedule::clear() {
  live_.clear();
  balance_ = std::min(balance_, 0.0);
}

}  // namespace beacon::infer
