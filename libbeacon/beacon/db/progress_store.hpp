#pragma once
// The progress-writer's bookkeeping: result events into executions rows and
// job counters, exact under replay (SPEC invariants 1, 2 and 4).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/connection>

#include <beacon/core/messages.hpp>

namespace beacon::db {

// A job the batch stopped at its budget (budget_stop.sql): the caller
// broadcasts a cancel of `submission` with reason budget_exhausted.
struct BudgetStop {
  std::string job_id;
  int submission = 1;
  double cost_usd = 0;         // spent when it stopped
  std::int64_t tokens = 0;     // prompt + completion tokens spent
  std::size_t cancelled = 0;   // pending executions cancelled by the stop
};

struct ApplyResult {
  std::size_t transitioned = 0;  // events that moved an execution
  std::size_t ignored = 0;       // duplicates, late or superseded events: nothing to do
  // Indices into the batch of events whose execution row does not exist
  // (unknown job or key). Nothing was written for them; the caller decides
  // (dead-letter them, typically).
  std::vector<std::size_t> unknown;
  // Jobs whose budget this batch's answers spent, stopped in the same
  // transaction (core/budget.hpp).
  std::vector<BudgetStop> budget_stops;
};

// Applies `batch` in one transaction, committed when this returns. Per key the
// event of highest event_rank() wins (equal ranks: the later), and it is
// applied only when transition_allowed(current status, its status) holds, in
// one statement that also moves the job counters and the job's status,
// progress, started_at and finished_at. So a duplicate terminal event and a
// late `started` change nothing, failed -> completed moves one from failed to
// completed, and applying any batch twice equals applying it once.
// Concurrent callers are safe: rows are locked jobs first, then executions,
// in key order; deadlocks and serialization failures are retried.
// In the same transaction, a job of the batch whose completed executions
// reached its budget is stopped (budget_stop.sql) and listed in budget_stops.
// Throws DatabaseUnavailable (nothing is known to be committed: redeliver).
ApplyResult apply_events(pqxx::connection& conn, const std::vector<ResultEvent>& batch);

}  // namespace beacon::db
