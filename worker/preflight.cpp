#include "preflight.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <beacon/db/connect.hpp>
#include <beacon/db/jobs_repo.hpp>

namespace beacon {
namespace {
using Clock = std::chrono::steady_clock;
constexpr auto kJobCacheTtl = std::chrono::seconds(3);
constexpr auto kDbRetryDelay = std::chrono::seconds(5);
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
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    item.verdict = decide(item);
    results_.put(std::move(item));
  }
}

bool Preflight::ensure_connection() {
  if (database_url_.empty()) return false;
  if (db_) return true;
  if (Clock::now() < db_retry_after_) return false;
  try {
    db_ = db::connect(database_url_);
    return true;
  } catch (const std::exception& e) {
    db_retry_after_ = Clock::now() + kDbRetryDelay;
    spdlog::warn("preflight: database unreachable ({}); running messages without the duplicate check", e.what());
    return false;
  }
}

bool Preflight::job_cancelled(const std::string& job_id) {
  auto now = Clock::now();
  auto it = job_cache_.find(job_id);
  if (it != job_cache_.end() && now - it->second.second < kJobCacheTtl) return it->second.first;
  auto status = db::job_status(*db_, job_id);
  bool cancelled = status && *status == "cancelled";
  job_cache_[job_id] = {cancelled, now};
  return cancelled;
}

Verdict Preflight::decide(const PreflightItem& item) {
  if (!ensure_connection()) return Verdict::run;
  const auto& key = item.message.key;
  try {
    if (job_cancelled(key.job_id)) return Verdict::job_cancelled;
    if (item.redelivered || item.message.submission > 1) {
      auto status = db::execution_status(*db_, key);
      if (status && *status == ExecStatus::completed) return Verdict::already_completed;
    }
    return Verdict::run;
  } catch (const std::exception& e) {
    db_.reset();
    db_retry_after_ = Clock::now() + kDbRetryDelay;
    spdlog::warn("preflight lookup failed for {} ({}); running it", key.log_context(), e.what());
    return Verdict::run;
  }
}

}  // namespace beacon
