#include <beacon/amqp/backoff.hpp>

#include <beacon/core/backoff.hpp>

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
  return backoff_ceiling(attempts_, BackoffShape{options_.initial, options_.max, options_.multiplier});
}

std::chrono::milliseconds Backoff::next() {
  const auto delay =
      full_jitter_delay(attempts_, BackoffShape{options_.initial, options_.max, options_.multiplier}, uniform_());
  ++attempts_;
  return delay;
}

void Backoff::reset() { attempts_ = 0; }

}  // namespace beacon::amqp
