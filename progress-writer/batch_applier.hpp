#pragma once
// The progress-writer's database thread. The thread that owns the broker
// connection never runs SQL (a frozen or partitioned database would stop its
// heartbeats, the broker would drop it and requeue every event it holds):
// it hands one batch at a time to this thread and keeps polling the broker
// until the outcome comes back through a Mailbox. Acks still happen only on
// the owner thread, and only for a batch whose outcome says committed.
//
// Outages (connect failures, broken connections, SQL errors not about an
// event's data) are retried here with capped, jittered backoff until the
// batch commits or the owner gives it up (give_up(): stopping). An event the
// database refuses for its data (SQLSTATE 22, 23, 54) is isolated by applying
// the batch one event at a time; it comes back as rejected.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/connection>

#include <beacon/core/mailbox.hpp>
#include <beacon/core/messages.hpp>
#include <beacon/db/progress_store.hpp>

#include "writer_metrics.hpp"

namespace beacon {

struct BatchOutcome {
  std::uint64_t id = 0;
  bool committed = false;  // false: given up before the database took it (nothing to ack)
  std::size_t transitioned = 0, ignored = 0;
  std::vector<std::size_t> unknown;                             // no execution row for these events
  std::vector<std::pair<std::size_t, std::string>> rejected;   // index, reason (the database refused it)
  std::vector<db::BudgetStop> budget_stops;                     // jobs the batch stopped at their budget
};

class BatchApplier {
 public:
  BatchApplier(std::string database_url, Mailbox<BatchOutcome>& outcomes, WriterMetrics& metrics);
  ~BatchApplier();
  BatchApplier(const BatchApplier&) = delete;
  BatchApplier& operator=(const BatchApplier&) = delete;

  // One batch at a time: call again only after its outcome arrived.
  void submit(std::uint64_t id, std::vector<ResultEvent> events);
  // Stop retrying the batch in hand; its outcome comes back not committed
  // (unless it commits first). Used when the drain deadline passes.
  void give_up();
  // Connects early so /readyz tells the truth before the first batch.
  void connect_soon();
  bool database_ready() const { return db_ready_; }
  // Ends the thread. A thread stuck inside libpq (a frozen server, until TCP
  // keepalives or the statement timeout end the call) is detached rather
  // than waited for: the process is exiting and holds nothing it could lose.
  void stop(std::chrono::milliseconds wait);

 private:
  void loop();
  BatchOutcome apply_with_retry(std::uint64_t id, const std::vector<ResultEvent>& events);
  BatchOutcome apply_one_by_one(std::uint64_t id, const std::vector<ResultEvent>& events);
  bool ensure_connection();
  void drop_connection();
  bool giving_up() const { return give_up_ || stopping_; }

  std::string database_url_;
  Mailbox<BatchOutcome>& outcomes_;
  WriterMetrics& m_;
  std::unique_ptr<pqxx::connection> db_;
  std::atomic<bool> db_ready_{false};
  std::atomic<bool> give_up_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> finished_{false};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool connect_requested_ = false;
  std::optional<std::pair<std::uint64_t, std::vector<ResultEvent>>> pending_;
  std::thread thread_;
};

}  // namespace beacon
