#pragma once
// Reuse across jobs, the worker's side (issue 10). A message of a job with
// "reuse": "completed" reaches the preflight with the digest of its request
// (execution_request.hpp); on the preflight's database thread, before any
// endpoint call, look_up_reuse() asks for a completed execution of another
// job with that digest. When there is one, the worker publishes a completed
// event copied from it (reused_completed_event) instead of calling the
// endpoint; the progress-writer stores it through the normal upsert.
//
// A look-up that fails (database down, timeout) never fails the execution:
// it is logged with the execution's ids and counted, and the message pays.
#include <optional>
#include <string>

#include <pqxx/connection>

#include <beacon/core/messages.hpp>
#include <beacon/db/request_reuse.hpp>

#include "execution_request.hpp"

namespace beacon {

enum class ReuseLookupOutcome { found, none, failed };

struct ReuseLookup {
  ReuseLookupOutcome outcome = ReuseLookupOutcome::none;
  std::optional<db::ReusableAnswer> answer;  // when found
};

// On the preflight's thread. `failed`: logged and counted here; the caller
// drops its connection (it may be broken) and lets the message pay.
ReuseLookup look_up_reuse(pqxx::connection& db, const ExecutionKey& key, const std::string& digest);

// The completed event of a copied answer: the source's text, classification,
// finish reason and token counts (what the answer is), cost_usd 0 (nothing
// was paid for it), no receipt (no request was made: the source's row keeps
// the receipt of the call), the request's digest and seed, and reused_from.
ResultEvent reused_completed_event(const ExecutionMessage& msg, const db::ReusableAnswer& answer,
                                   const RequestIdentity& request, const std::string& worker_id,
                                   const std::string& now_rfc3339);

}  // namespace beacon
