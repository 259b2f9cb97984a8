#pragma once
// Reuse across jobs (issue 10, migration 0010): the look-up the worker's
// preflight makes for a message of a job with "reuse": "completed".
#include <optional>
#include <string>

#include <pqxx/connection>

#include <beacon/core/messages.hpp>

namespace beacon::db {

// An earlier job's answer to the same request: what the copy carries.
struct ReusableAnswer {
  ExecutionKey source;  // the execution it is copied from (becomes reused_from)
  Output output;        // text, classification, finish_reason and token counts as stored
};

// A completed execution of a job other than `job_id` whose request digest is
// `digest_hex` (infer/request_digest.hpp); nullopt when there is none.
// Read-only; throws on database errors (the caller pays instead).
std::optional<ReusableAnswer> find_reusable_answer(pqxx::connection& conn, const std::string& digest_hex,
                                                   const std::string& job_id);

}  // namespace beacon::db
