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

void LeaseSchedule::add(double amount, Clock::time_point start, Clock::time_point end) {
  if (amount <= 0) return;
  live_.push_back({amount, start, std::max(start, end)});
}

void LeaseSchedule::fold(Clock::time_point now) {
  while (!live_.empty() && live_.front().end + kGrace <= now) {
    balance_ += live_.front().amount;
    live_.pop_front();
    // Whatever is still positive was accrued by finished leases and not
    // used: forfeited (debt, a negative balance, is kept).
    balance_ = std::min(balance_, 0.0);
  }
}

double LeaseSchedule::available(Clock::time_point now) {
  fold(now);
  double sum = balance_;
  for (const auto& l : live_) sum += l.accrued(now);
  return sum;
}

double LeaseSchedule::ahead(Clock::time_point now) {
  fold(now);
  double sum = 0;
  for (const auto& l : live_) sum += l.amount - l.accrued(now);
  return sum;
}

std::optional<LeaseSchedule::Clock::time_point> LeaseSchedule::when_available(double needed,
                                                                              Clock::time_point now) {
  double deficit = needed - available(now);
  if (deficit <= 0) return now;
  for (const auto& l : live_) {
    const double remaining = l.amount - l.accrued(now);
    if (remaining <= 0) continue;
    if (deficit <= remaining) {
      const auto from = std::max(now, l.start);
      const double per_second = l.end > l.start ? l.amount / std::chrono::duration<double>(l.end - l.start).count()
                                                : 0;
      if (per_second <= 0) return from;
      return from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(deficit / per_second));
    }
    deficit -= remaining;
  }
  return std::nullopt;
}

std::optional<LeaseSchedule::Clock::time_point> LeaseSchedule::booked_until(Clock::time_point now) {
  fold(now);
  if (live_.empty()) return std::nullopt;
  return live_.back().end;
}

void LeaseSchedule::clear() {
  live_.clear();
  balance_ = std::min(balance_, 0.0);
}

}  // namespace beacon::infer
