#include "rate_leaser.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <beacon/db/connect.hpp>
#include <beacon/metrics/registry.hpp>

namespace beacon {
namespace {
using Clock = std::chrono::steady_clock;
constexpr auto kDbRetryDelay = std::chrono::seconds(2);

metrics::Counter& lease_errors() {
  static auto& c = metrics::default_registry().counter(
      "beacon_worker_rate_lease_errors_total",
      "Fleet rate-limit leases that failed (database unreachable or slow): the worker limited itself locally");
  return c;
}
metrics::Counter& leases() {
  static auto& c = metrics::default_registry().counter("beacon_worker_rate_leases_total",
                                                       "Fleet rate-limit leases booked from the shared bucket");
  return c;
}

db::ConnectOptions connect_options() {
  db::ConnectOptions o;
  o.application_name = "beacon-worker rate-limits";
  o.connect_timeout_s = 3;
  o.statement_timeout_ms = 2000;
  o.lock_timeout_ms = 1000;
  return o;
}

Clock::time_point to_steady(Clock::time_point mid, double db_now, double db_time) {
  return mid + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(db_time - db_now));
}

}  // namespace

RateLeaser::RateLeaser(std::string database_url, std::string worker_id,
                       std::shared_ptr<infer::FleetRateLimits> limits)
    : database_url_(std::move(database_url)), worker_id_(std::move(worker_id)), limits_(std::move(limits)) {
  limits_->attach_leaser();
  thread_ = std::thread([this] { loop(); });
}

RateLeaser::~RateLeaser() { stop(); }

void RateLeaser::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void RateLeaser::loop() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, infer::kLeaserPeriod, [this] { return stopping_; });
      if (stopping_) return;
    }
    for (const auto& need : limits_->needs(Clock::now())) {
      if (!ensure_connection()) {
        fall_back(need, "database unreachable");
        continue;
      }
      if (!lease(need)) fall_back(need, "lease failed");
    }
  }
}

bool RateLeaser::ensure_connection() {
  if (db_) return true;
  if (Clock::now() < db_retry_after_) return false;
  try {
    db_ = db::connect(database_url_, connect_options());
    if (degraded_) spdlog::info("rate limits: database reachable again; leasing from the fleet-wide buckets");
    degraded_ = false;
    return true;
  } catch (const std::exception& e) {
    db_retry_after_ = Clock::now() + kDbRetryDelay;
    if (!degraded_) spdlog::warn("rate limits: cannot connect to the database: {}", e.what());
    return false;
  }
}

bool RateLeaser::lease(const infer::FleetRateLimits::Need& need) {
  try {
    const auto sent = Clock::now();
    pqxx::work tx(*db_);
    const pqxx::row r = tx.exec_params1(
        "SELECT now_s, req_amount, req_start, req_end, tok_amount, tok_start, tok_end, live_workers "
        "FROM beacon_rate_lease($1, $2, $3, $4, $5, $6, $7, $8)",
        need.key, need.label, need.settings.requests_per_minute, need.settings.tokens_per_minute,
        need.requests.wanted, need.tokens.wanted, std::chrono::duration<double>(infer::kBookingHorizon).count(),
        worker_id_);
    tx.commit();
    // The database's clock maps onto this process's at the round trip's
    // middle: only differences of database times are used.
    const auto mid = sent + (Clock::now() - sent) / 2;
    const double now_s = r[0].as<double>();
    infer::LeaseGrant req{r[1].as<double>(), to_steady(mid, now_s, r[2].as<double>()),
                          to_steady(mid, now_s, r[3].as<double>())};
    infer::LeaseGrant tok{r[4].as<double>(), to_steady(mid, now_s, r[5].as<double>()),
                          to_steady(mid, now_s, r[6].as<double>())};
    live_workers_[need.key] = std::max(1, r[7].as<int>());
    limits_->grant(need.key, req, tok);
    leases().inc();
    return true;
  } catch (const std::exception& e) {
    lease_errors().inc();
    if (!degraded_) spdlog::warn("rate limits: lease for {} failed: {}", need.label, e.what());
    db_.reset();
    db_retry_after_ = Clock::now() + kDbRetryDelay;
    return false;
  }
}

void RateLeaser::fall_back(const infer::FleetRateLimits::Need& need, const std::string& why) {
  auto it = live_workers_.find(need.key);
  const int share = it == live_workers_.end() ? 1 : it->second;
  if (!degraded_) {
    degraded_ = true;
    spdlog::warn(
        "rate limits: {} ({}): this worker now limits itself locally to 1/{} of each limit ({} requests/min, {} "
        "tokens/min for {}){}; fleet-wide leasing resumes when the database answers (retrying every {} s)",
        why, database_url_.empty() ? "no database" : "see above", share,
        need.settings.requests_per_minute / share, need.settings.tokens_per_minute / share, need.label,
        it == live_workers_.end() ? " -- no count of live workers yet, so every worker may use the whole limit" : "",
        std::chrono::duration_cast<std::chrono::seconds>(kDbRetryDelay).count());
  }
  limits_->lease_locally(need, Clock::now(), share);
}

}  // namespace beacon
