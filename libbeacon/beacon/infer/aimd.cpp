#include <beacon/infer/aimd.hpp>

#include <algorithm>
#include <cmath>

namespace beacon::infer {

Aimd::Aimd(int min_limit, int max_limit) : min_(min_limit), max_(std::max(min_limit, max_limit)), cap_(min_) {}

void Aimd::on_success() { cap_ = std::min(max_, cap_ + 1.0 / std::floor(cap_)); }

bool Aimd::on_overload(Clock::time_point sent_at, Clock::time_point now) {
  if (sent_at < last_decrease_) return false;
  last_decrease_ = now;
  const double before = std::floor(cap_);
  cap_ = std::max(min_, std::floor(cap_ / 2));
  return cap_ < before;
}

void Aimd::set_bounds(int min_limit, int max_limit) {
  min_ = min_limit;
  max_ = std::max(min_limit, max_limit);
  cap_ = std::clamp(cap_, min_, max_);
}

}  // namespace beacon::infer
