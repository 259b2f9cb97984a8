#include "preflight.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <beacon/db/connect.hpp>
#include <beacon/db/jobs_repo.hpp>
#include <beacon/metrics/registry.hpp>

namespace beacon {
namespace {
using Clock = std::chrono::steady_clock;
constexpr auto kJobCacheTtl = std::chrono::seconds(3);
constexpr auto kDbRetryDelay = std::chrono::seconds(5);

metrics::Counter& lookup_errors() {
  static auto& c = metrics::default_registry().counter(
      "beacon_worker_preflight_errors_total", "Preflight database look-ups that failed (the message ran unchecked)");
  return c;
}
metrics::Counter& unchecked() {
  static auto& c = metrics::default_registry().counter(
      "beacon_worker_preflight_unchecked_total",
      "Redelivered or re-submitted messages run without the completed check (database unreachable)");
  return c;
}
// A look-up that takes longer than this is not worth waiting for: the
// message runs unchecked (counted), as when the database is down.
db::ConnectOptions connect_options() {
  db::ConnectOptions o;
  o.application_name = "beacon-worker preflight";
  o.statement_timeout_ms = 2000;
  o.lock_timeout_ms = 1000;
  return o;
}

}  // namespace

Preflight::Preflight(std::string database_url, Mailbox<PreflightItem>& results)
    : database_url_(std::move(database_url)), results_(results), thread_([this] { loop(); }) {}

Preflight::~Preflight() { stop(); }

void Preflight::submit(PreflightItem item) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(item));
  }
  wake_.notify_one();
}

void Preflight::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Preflight::loop() {
  while (true) {
    PreflightItem item;
    {
      std::unique_lock lock(mutex_);
      auto due = [this] { return !rechecks_.empty() && rechecks_.begin()->first <= Clock::now(); };
      while (!stopping_ && queue_.empty() && !due()) {
        if (rechecks_.empty()) {
          wake_.wait(lock);
        } else {
          wake_.wait_until(lock, rechecks_.begin()->first);
        }
      }
      if (!queue_.empty()) {
        item = std::move(queue_.front());
        queue_.pop_front();
      } else if (due()) {
        item = std::move(rechecks_.begin()->second);
        rechecks_.erase(rechecks_.begin());
      } else {
        return;  // stopping: the worker no longer waits for verdicts
      }
    }
    auto verdict = decide(item);
    const auto now = Clock::now();
    if (!verdict) {
      if (item.waiting_since == Clock::time_point{}) {
        item.waiting_since = now;
        spdlog::info("{}: running on another worker; waiting for its outcome (up to {} s)",
                     item.message.key.log_context(), kOtherRunWait.count());
      }
      if (now - item.waiting_since < kOtherRunWait) {
        std::lock_guard lock(mutex_);
        rechecks_.emplace(now + kOtherRunRecheck, std::move(item));
        continue;
      }
      spdlog::warn("{}: still running elsewhere after {} s; running it here too", item.message.key.log_context(),
                   kOtherRunWait.count());
      verdict = Verdict::run;
    }
    item.verdict = *verdict;
    results_.put(std::move(item));
  }
}

bool Preflight::ensure_connection() {
  if (database_url_.empty()) return false;
  if (db_) return true;
  if (Clock::now() < db_retry_after_) return false;
  try {
    db_ = db::connect(database_url_, connect_options());
    return true;
  } catch (const std::exception& e) {
    db_retry_after_ = Clock::now() + kDbRetryDelay;
    spdlog::warn("preflight: database unreachable ({}); running messages without the duplicate check", e.what());
    return false;
  }
}

std::optional<db::JobState> Preflight::job(const std::string& job_id) {
  auto now = Clock::now();
  auto it = job_cache_.find(job_id);
  if (it != job_cache_.end() && now - it->second.second < kJobCacheTtl) return it->second.first;
  auto state = db::job_state(*db_, job_id);
  job_cache_[job_id] = {state, now};
  return state;
}

std::optional<Verdict> Preflight::decide(const PreflightItem& item) {
  const auto& key = item.message.key;
  const bool may_be_done = item.redelivered || item.message.submission > 1;
  if (!ensure_connection()) {
    if (may_be_done && !database_url_.empty()) {
      unchecked().inc();
      spdlog::warn("{}: database unreachable, running it without the completed check", key.log_context());
    }
    return Verdict::run;
  }
  try {
    auto state = job(key.job_id);
    if (state && state->status == "cancelled") return Verdict::job_cancelled;
    // A message of an earlier submit that was never delivered before may
    // still be done: the re-submit enqueued its execution again.
    if (may_be_done || (state && item.message.submission < state->submissions)) {
      auto status = db::execution_status(*db_, key);
      if (status && *status == ExecStatus::completed) return Verdict::already_completed;
      if (status && *status == ExecStatus::running && !item.redelivered) return std::nullopt;
    }
    return Verdict::run;
  } catch (const std::exception& e) {
    db_.reset();
    db_retry_after_ = Clock::now() + kDbRetryDelay;
    lookup_errors().inc();
    spdlog::warn("preflight lookup failed for {} ({}); running it", key.log_context(), e.what());
    return Verdict::run;
  }
}

}  // namespace beacon
