#include <beacon/core/backoff.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace beacon {

std::chrono::milliseconds backoff_ceiling(int n, const BackoffShape& shape) {
  // Computed in double and clamped before converting, so a long outage
  // (many attempts) cannot overflow the integer count.
  const double grown = static_cast<double>(shape.initial.count()) * std::pow(shape.multiplier, std::clamp(n, 0, 1000));
  const double capped = std::min(grown, static_cast<double>(shape.max.count()));
  return std::chrono::milliseconds(static_cast<std::int64_t>(capped));
}

std::chrono::milliseconds full_jitter_delay(int n, const BackoffShape& shape, double u) {
  const auto cap = backoff_ceiling(n, shape);
  const auto delay = static_cast<std::int64_t>(std::clamp(u, 0.0, 1.0) * static_cast<double>(cap.count()));
  return std::chrono::milliseconds(std::min<std::int64_t>(delay, cap.count()));
}

}  // namespace beacon
