#include "batch_applier.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <beacon/amqp/backoff.hpp>
#include <beacon/db/connect.hpp>

namespace beacon {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// SQLSTATE classes of an error in the data of an event (22 data exception,
// 23 integrity constraint, 54 program limit): that event can be isolated and
// dead-lettered. Any other error would hit every batch alike.
bool rejects_data(const pqxx::sql_error& e) {
  const std::string cls = e.sqlstate().substr(0, 2);
  return cls == "22" || cls == "23" || cls == "54";
}

// Server-side deadlines of the writer's connection: a batch statement stuck
// behind a lock or a frozen plan ends, is counted and retried, instead of
// holding the batch for ever (a batch of 500 events takes milliseconds).
db::ConnectOptions connect_options() {
  db::ConnectOptions o;
  o.application_name = "beacon-progress-writer";
  o.statement_timeout_ms = 30000;
  o.lock_timeout_ms = 10000;
  return o;
}

}  // namespace

BatchApplier::BatchApplier(std::string database_url, Mailbox<BatchOutcome>& outcomes, WriterMetrics& metrics)
    : database_url_(std::move(database_url)), outcomes_(outcomes), m_(metrics), thread_([this] { loop(); }) {}

BatchApplier::~BatchApplier() { stop(milliseconds(1000)); }

void BatchApplier::submit(std::uint64_t id, std::vector<ResultEvent> events) {
  {
    std::lock_guard lock(mutex_);
    give_up_ = false;
    pending_.emplace(id, std::move(events));
  }
  wake_.notify_one();
}

void BatchApplier::give_up() {
  give_up_ = true;
  wake_.notify_one();
}

void BatchApplier::connect_soon() {
  {
    std::lock_guard lock(mutex_);
    connect_requested_ = true;
  }
  wake_.notify_one();
}

void BatchApplier::stop(std::chrono::milliseconds wait) {
  if (!thread_.joinable()) return;
  stopping_ = true;
  wake_.notify_one();
  const auto until = Clock::now() + wait;
  while (!finished_ && Clock::now() < until) std::this_thread::sleep_for(milliseconds(10));
  if (finished_) {
    thread_.join();
  } else {
    spdlog::warn("the database call in progress did not end within {} ms; leaving it behind", wait.count());
    thread_.detach();
  }
}

void BatchApplier::loop() {
  while (true) {
    std::pair<std::uint64_t, std::vector<ResultEvent>> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || pending_ || connect_requested_; });
      if (stopping_) break;
      if (!pending_) {
        connect_requested_ = false;
        lock.unlock();
        ensure_connection();
        continue;
      }
      batch = std::move(*pending_);
      pending_.reset();
    }
    outcomes_.put(apply_with_retry(batch.first, batch.second));
  }
  finished_ = true;
}

bool BatchApplier::ensure_connection() {
  if (db_) return true;
  try {
    db_ = db::connect(database_url_, connect_options());
    db_ready_ = true;
    return true;
  } catch (const db::DatabaseUnavailable& e) {
    spdlog::warn("database unavailable ({})", e.what());
    return false;
  }
}

void BatchApplier::drop_connection() {
  db_.reset();
  db_ready_ = false;
}

BatchOutcome BatchApplier::apply_with_retry(std::uint64_t id, const std::vector<ResultEvent>& events) {
  amqp::Backoff backoff(amqp::BackoffOptions{milliseconds(200), milliseconds(5000)});
  while (!giving_up()) {
    if (ensure_connection()) {
      try {
        const auto started = Clock::now();
        auto result = db::apply_events(*db_, events);
        m_.commit_seconds.observe(std::chrono::duration<double>(Clock::now() - started).count());
        m_.batch_size.observe(static_cast<double>(events.size()));
        BatchOutcome out{id, true, result.transitioned, result.ignored, std::move(result.unknown), {},
                         std::move(result.budget_stops)};
        return out;
      } catch (const db::DatabaseUnavailable& e) {
        drop_connection();
        m_.db_errors.inc();
        spdlog::warn("database unavailable ({}); batch of {} events kept unacked, retrying", e.what(), events.size());
      } catch (const pqxx::broken_connection& e) {
        drop_connection();
        m_.db_errors.inc();
        spdlog::warn("database connection broken ({}); batch of {} events kept unacked, retrying", e.what(),
                     events.size());
      } catch (const pqxx::sql_error& e) {
        m_.db_errors.inc();
        if (rejects_data(e)) {
          // Some event's data the database refuses: find it, one event at a
          // time, so the rest still lands.
          spdlog::error("batch of {} events rejected by the database ({}); applying one by one", events.size(),
                        e.what());
          try {
            return apply_one_by_one(id, events);
          } catch (const db::DatabaseUnavailable& e2) {
            drop_connection();
            spdlog::warn("database unavailable while isolating a bad event ({}); retrying the batch", e2.what());
          }
        } else {
          // Schema missing, permissions, a statement timeout, a bug: every
          // batch would fail alike, and dead-lettering them would scatter
          // good events. Keep the batch, retry, and say so loudly.
          spdlog::error("database refused a batch of {} events ({}, SQLSTATE {}); kept unacked, retrying",
                        events.size(), e.what(), e.sqlstate());
          drop_connection();
        }
      }
    } else {
      m_.db_errors.inc();
    }
    const auto until = Clock::now() + backoff.next();
    std::unique_lock lock(mutex_);
    wake_.wait_until(lock, until, [this] { return giving_up(); });
  }
  return BatchOutcome{id, false, 0, 0, {}, {}, {}};
}

// Each event in its own transaction. Throws DatabaseUnavailable when the
// problem turns out not to be an event's data (events applied so far are
// replayed harmlessly with the batch).
BatchOutcome BatchApplier::apply_one_by_one(std::uint64_t id, const std::vector<ResultEvent>& events) {
  BatchOutcome out{id, true, 0, 0, {}, {}, {}};
  for (std::size_t i = 0; i < events.size(); ++i) {
    try {
      auto r = db::apply_events(*db_, {events[i]});
      out.transitioned += r.transitioned;
      out.ignored += r.ignored;
      if (!r.unknown.empty()) out.unknown.push_back(i);
      for (auto& stop : r.budget_stops) out.budget_stops.push_back(std::move(stop));
    } catch (const pqxx::broken_connection& e) {
      throw db::DatabaseUnavailable(std::string("connection lost while isolating a bad event: ") + e.what());
    } catch (const pqxx::sql_error& e) {
      if (!rejects_data(e))
        throw db::DatabaseUnavailable("database refused an event for a reason not in its data (SQLSTATE " +
                                      e.sqlstate() + "): " + e.what());
      spdlog::error("event rejected by the database: {} event={} ({})", events[i].key.log_context(),
                    to_string(events[i].event), e.what());
      out.rejected.emplace_back(i, std::string("database rejected the event: ") + e.what());
    }
  }
  return out;
}

}  // namespace beacon
