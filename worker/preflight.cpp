#include "preflight.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <beacon/core/clock.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/jobs_repo.hpp>
#include <beacon/db/worker_leases.hpp>
#include <beacon/metrics/registry.hpp>

#include "reuse_lookup.hpp"

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
metrics::Counter& lease_waits() {
  static auto& c = metrics::default_registry().counter(
      "beacon_worker_preflight_lease_waits_total",
      "Redelivered messages that waited for another live worker's run of the same execution instead of paying again");
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

Preflight::Preflight(std::string database_url, std::string worker_id, std::string region,
                     Mailbox<PreflightItem>& results)
    : database_url_(std::move(database_url)),
      worker_id_(std::move(worker_id)),
      region_(std::move(region)),
      results_(results),
      thread_([this] { loop(); }) {
  // Registered now, so /metrics shows them at 0 from the start.
  lookup_errors();
  unchecked();
  lease_waits();
}

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
    heartbeat_if_due();
    PreflightItem item;
    {
      std::unique_lock lock(mutex_);
      auto due = [this] { return !rechecks_.empty() && rechecks_.begin()->first <= Clock::now(); };
      while (!stopping_ && queue_.empty() && !due() && Clock::now() < next_heartbeat_) {
        auto until = next_heartbeat_;
        if (!rechecks_.empty()) until = std::min(until, rechecks_.begin()->first);
        wake_.wait_until(lock, until);
      }
      if (!queue_.empty()) {
        item = std::move(queue_.front());
        queue_.pop_front();
      } else if (due()) {
        item = std::move(rechecks_.begin()->second);
        rechecks_.erase(rechecks_.begin());
      } else if (stopping_) {
        lock.unlock();
        forget_heartbeat();
        return;  // stopping: the worker no longer waits for verdicts
      } else {
        continue;  // a heartbeat is due
      }
    }
    auto d = decide(item);
    const auto now = Clock::now();
    if (!d.verdict) {
      if (item.waiting_since == Clock::time_point{}) {
        item.waiting_since = now;
        if (d.live_lease) lease_waits().inc();
        spdlog::info("{}: {}; waiting for its outcome (up to {} s)", item.message.key.log_context(), d.waiting_for,
                     d.wait_at_most.count());
      }
      if (now - item.waiting_since < d.wait_at_most) {
        std::lock_guard lock(mutex_);
        rechecks_.emplace(now + kOtherRunRecheck, std::move(item));
        continue;
      }
      spdlog::warn("{}: {} for more than {} s; running it here too", item.message.key.log_context(), d.waiting_for,
                   d.wait_at_most.count());
      d.verdict = Verdict::run;
    }
    item.verdict = *d.verdict;
    if (item.verdict == Verdict::run && item.reuse_request) reuse_if_answered(item);
    results_.put(std::move(item));
  }
}

void Preflight::heartbeat_if_due() {
  const auto now = Clock::now();
  if (now < next_heartbeat_) return;
  next_heartbeat_ = now + kHeartbeatEvery;
  if (!ensure_connection() || !leases_) return;
  try {
    db::heartbeat_worker(*db_, worker_id_, region_);
  } catch (const std::exception& e) {
    db_.reset();
    db_retry_after_ = now + kDbRetryDelay;
    spdlog::warn("preflight: heartbeat of worker {} (region {}) failed ({}); other workers may run its work again "
                 "once its lease is {} s old",
                 worker_id_, region_, e.what(), kLeaseExpiry.count());
  }
}

void Preflight::forget_heartbeat() {
  if (!db_ || !leases_) return;
  try {
    db::forget_worker(*db_, worker_id_);
  } catch (const std::exception& e) {
    spdlog::warn("preflight: could not release the lease of worker {} ({}); it expires in {} s", worker_id_, e.what(),
                 kLeaseExpiry.count());
  }
}

bool Preflight::ensure_connection() {
  if (database_url_.empty()) return false;
  if (db_) return true;
  if (Clock::now() < db_retry_after_) return false;
  try {
    db_ = db::connect(database_url_, connect_options());
    leases_ = db::worker_leases_available(*db_);
    if (!leases_) {
      spdlog::warn("preflight: table worker_heartbeats is missing (run `beacon-producer migrate`): without leases a "
                   "redelivered execution that is still running on another worker runs here too");
    }
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

Preflight::Decision Preflight::decide(const PreflightItem& item) {
  const auto& key = item.message.key;
  const bool may_be_done = item.redelivered || item.message.submission > 1;
  if (!ensure_connection()) {
    if (may_be_done && !database_url_.empty()) {
      unchecked().inc();
      spdlog::warn("{}: database unreachable, running it without the completed check", key.log_context());
    }
    return Decision::now(Verdict::run);
  }
  try {
    auto state = job(key.job_id);
    if (state && state->status == "cancelled") return Decision::now(Verdict::job_cancelled);
    // A message of an earlier submit that was never delivered before may
    // still be done: the re-submit enqueued its execution again.
    if (may_be_done || (state && item.message.submission < state->submissions)) return decide_running(item);
    return Decision::now(Verdict::run);
  } catch (const std::exception& e) {
    db_.reset();
    db_retry_after_ = Clock::now() + kDbRetryDelay;
    lookup_errors().inc();
    spdlog::warn("preflight lookup failed for {} ({}); running it", key.log_context(), e.what());
    return Decision::now(Verdict::run);
  }
}

void Preflight::reuse_if_answered(PreflightItem& item) {
  const auto& key = item.message.key;
  if (!ensure_connection()) {
    if (!database_url_.empty())
      spdlog::warn("{}: database unreachable, no reuse look-up; paying for its own answer", key.log_context());
    return;
  }
  auto found = look_up_reuse(*db_, key, item.reuse_request->digest);
  if (found.outcome == ReuseLookupOutcome::failed) {
    db_.reset();  // it may be broken; the next message reconnects after the delay
    db_retry_after_ = Clock::now() + kDbRetryDelay;
    return;
  }
  if (found.answer) {
    spdlog::info("{}: answer copied from {} (the same request; reuse: completed), no endpoint call",
                 key.log_context(), found.answer->source.message_id());
    item.reused_event = reused_completed_event(item.message, *found.answer, *item.reuse_request, worker_id_,
                                               now_rfc3339());
    item.verdict = Verdict::reused;
  }
}

Preflight::Decision Preflight::decide_running(const PreflightItem& item) {
  const auto& key = item.message.key;
  std::optional<ExecStatus> status;
  db::ExecutionLease lease;
  if (leases_) {
    auto l = db::execution_lease(*db_, key, kLeaseExpiry);
    if (l) {
      lease = *l;
      status = l->status;
    }
  } else {
    status = db::execution_status(*db_, key);
  }
  if (status && *status == ExecStatus::completed) return Decision::now(Verdict::already_completed);
  if (!status || *status != ExecStatus::running) return Decision::now(Verdict::run);
  if (!item.redelivered) return Decision::wait(kOtherRunWait, "running on another worker");
  // Redelivered and running: a live lease of another worker means its broker
  // connection dropped, not the worker; its outcome is on the way.
  if (lease.holder_alive && lease.worker_id != worker_id_)
    return Decision::wait(kLiveLeaseWait, "redelivered while worker " + lease.worker_id + " (alive) runs it", true);
  return Decision::now(Verdict::run);
}

}  // namespace beacon
