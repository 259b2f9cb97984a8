#include <beacon/amqp/backoff.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>
#include <utility>

namespace beacon::amqp {
namespace {

Backoff::Uniform default_uniform() {
  // Seeded per instance so workers started together draw different delays.
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

}  // namespace

Backoff::Backoff(BackoffOptions options) : Backoff(options, default_uniform()) {}

Backoff::Backoff(BackoffOptions options, Uniform uniform)
    : options_(options), uniform_(std::move(uniform)) {
  if (options_.initial.count() <= 0 || options_.max < options_.initial ||
      options_.multiplier < 1.0) {
    throw std::invalid_argument("backoff: need 0 < initial <= max and multiplier >= 1");
  }
}

std::chrono::milliseconds Backoff::ceiling() const {
  // Computed in double and clamped before converting, so a long outage
  // (many attempts) cannot overflow the integer count.
  const double grown = static_cast<double>(options_.initial.count()) *
                       std::pow(options_.multiplier, attempts_);
  const double capped = std::min(grown, static_cast<double>(options_.max.count()));
  return std::chrono::milliseconds(static_cast<std::int64_t>(capped));
}

std::chrono::milliseconds Backoff::next() {
  const auto cap = ceiling();
  // Clamp the injected draw: a misbehaving source must not exceed the cap.
  const double u = std::clamp(uniform_(), 0.0, 1.0);
  ++attempts_;
  const auto delay = static_cast<std::int64_t>(u * static_cast<double>(cap.count()));
  return std::chrono::milliseconds(std::min<std::int64_t>(delay, cap.count()));
}

void Backoff::reset() { attempts_ = 0; }

}  // namespace beacon::amqp
