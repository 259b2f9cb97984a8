#pragma once
// The progress-writer's bookkeeping: result events into executions rows and
// job counters, exact under replay (SPEC invariants 1, 2 and 4).
#include <cstddef>
#include <vector>

#include <pqxx/connection>

#include <beacon/core/messages.hpp>

namespace beacon::db {

struct ApplyResult {
  std::size_t transitioned = 0;  // events that moved an execution
  std::size_t ignored = 0;       // duplicates, late or superseded events: nothing to do
  // Indices into the batch of events whose execution row does not exist
  // (unknown job or key). Nothing was written for them; the caller decides
  // (dead-letter them, typically).
  std::vector<std::size_t> unknown;
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
// Throws DatabaseUnavailable (nothing is known to be committed: redeliver).
ApplyResult apply_events(pqxx::connection& conn, const std::vector<ResultEvent>& batch);

}  // namespace beacon::db
