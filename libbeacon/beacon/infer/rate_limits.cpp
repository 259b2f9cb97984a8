#include <beacon/infer/rate_limits.hpp>

#include <algorithm>
#include <cmath>

namespace beacon::infer {

namespace {

double seconds_of(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}
std::chrono::steady_clock::time_point at_seconds(double s) {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s)));
}
constexpr double kSpanS = std::chrono::duration<double>(kLeaseSpan).count();
constexpr auto kPoll = std::chrono::milliseconds(20);  // no lease held yet: look again soon

// What one worker wants booked in one dimension: its waiting demand, at most
// one span of the whole rate, minus what it already holds ahead; nothing
// while at least half a span's worth is still to come (fewer round trips).
// `unit`: the least worth booking (one request: below it nothing could ever be sent).
LeaseRequest want(LeaseSchedule& s, double demand, double per_minute, double unit,
                  FleetRateLimits::Clock::time_point now) {
  LeaseRequest r;
  if (per_minute <= 0 || demand <= 0) return r;
  r.rate_per_s = per_minute / 60.0;
  const double target = std::max(unit, std::min(demand, r.rate_per_s * kSpanS));
  const double held = s.ahead(now) + std::max(0.0, s.available(now));
  if (held >= target / 2 && held > 0) return r;
  r.wanted = std::max(target - held, 0.0);
  return r;
}

}  // namespace

Booking book(double& booked_until, double now, double wanted, double rate_per_s, double horizon_s) {
  Booking b;
  if (wanted <= 0 || rate_per_s <= 0) return b;
  b.start = std::max(booked_until, now);
  if (b.start > now + horizon_s) {
    b.start = 0;
    return b;
  }
  b.amount = wanted;
  b.end = b.start + wanted / rate_per_s;
  booked_until = b.end;
  return b;
}

void FleetRateLimits::configure(const std::string& key, RateLimitSettings settings, const std::string& label) {
  std::lock_guard lock(mutex_);
  auto& k = keys_[key];
  k.settings = settings;
  k.label = label;
}

bool FleetRateLimits::limited(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = keys_.find(key);
  return it != keys_.end() && it->second.settings.any();
}

bool FleetRateLimits::try_take(const std::string& key, double tokens, Clock::time_point now,
                               Clock::time_point& retry_at) {
  std::unique_lock lock(mutex_);
  auto it = keys_.find(key);
  if (it == keys_.end() || !it->second.settings.any()) return true;
  KeyState& k = it->second;
  retry_at = now + kPoll;
  const bool by_requests = k.settings.requests_per_minute > 0;
  const bool by_tokens = k.settings.tokens_per_minute > 0;
  bool ok = true;
  if (by_requests && k.requests.available(now) < 1) {
    ok = false;
    if (auto t = k.requests.when_available(1, now)) retry_at = std::max(retry_at, *t);
  }
  // Tokens: a positive balance suffices (the estimate is only an estimate);
  // what the request costs beyond it is debt the next leases pay first.
  if (by_tokens && k.tokens.available(now) <= 0) {
    ok = false;
    if (auto t = k.tokens.when_available(1e-6, now)) retry_at = std::max(retry_at, *t);
  }
  if (!ok) {
    if (!attached_) {
      lock.unlock();
      for (const auto& need : needs(now)) lease_locally(need, now, 1);
    }
    return false;
  }
  if (by_requests) k.requests.take(1);
  if (by_tokens) k.tokens.take(tokens);
  return true;
}

void FleetRateLimits::correct_tokens(const std::string& key, double delta) {
  std::lock_guard lock(mutex_);
  auto it = keys_.find(key);
  if (it == keys_.end() || it->second.settings.tokens_per_minute <= 0) return;
  if (delta >= 0) {
    it->second.tokens.take(delta);
  } else {
    it->second.tokens.give_back(-delta);
  }
}

void FleetRateLimits::set_demand(const std::string& key, const std::string& entry, std::size_t requests,
                                 double tokens) {
  std::lock_guard lock(mutex_);
  auto it = keys_.find(key);
  if (it == keys_.end()) return;
  it->second.demand[entry] = {requests, tokens};
}

std::vector<FleetRateLimits::Need> FleetRateLimits::needs(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::vector<Need> out;
  for (auto& [key, k] : keys_) {
    if (!k.settings.any()) continue;
    double requests = 0;
    double tokens = 0;
    for (const auto& [entry, d] : k.demand) {
      requests += static_cast<double>(d.first);
      tokens += d.second;
    }
    Need n;
    n.key = key;
    n.label = k.label;
    n.settings = k.settings;
    n.requests = want(k.requests, requests, k.settings.requests_per_minute, 1, now);
    // A token debt is part of what must be booked before anything is sent.
    n.tokens = want(k.tokens, tokens - std::min(0.0, k.tokens.available(now)), k.settings.tokens_per_minute, 0,
                    now);
    if (n.requests.wanted > 0 || n.tokens.wanted > 0) out.push_back(std::move(n));
  }
  return out;
}

void FleetRateLimits::grant(const std::string& key, const LeaseGrant& requests, const LeaseGrant& tokens) {
  std::lock_guard lock(mutex_);
  auto it = keys_.find(key);
  if (it == keys_.end()) return;
  if (requests.amount > 0) it->second.requests.add(requests.amount, requests.start, requests.end);
  if (tokens.amount > 0) it->second.tokens.add(tokens.amount, tokens.start, tokens.end);
}

void FleetRateLimits::lease_locally(const Need& need, Clock::time_point now, double share) {
  share = std::max(share, 1.0);
  LeaseGrant r;
  LeaseGrant t;
  {
    std::lock_guard lock(mutex_);
    auto it = keys_.find(need.key);
    if (it == keys_.end()) return;
    const double n = seconds_of(now);
    auto to_grant = [&](const Booking& b) {
      LeaseGrant g;
      g.amount = b.amount;
      g.start = at_seconds(b.start);
      g.end = at_seconds(b.end);
      return g;
    };
    r = to_grant(book(it->second.local_requests_booked_until, n, need.requests.wanted,
                      need.requests.rate_per_s / share));
    t = to_grant(book(it->second.local_tokens_booked_until, n, need.tokens.wanted, need.tokens.rate_per_s / share));
  }
  grant(need.key, r, t);
}

}  // namespace beacon::infer
