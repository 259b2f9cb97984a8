#pragma once
// Jobs as `beacon-producer submit|cancel` write them, and the two status
// look-ups a worker makes before it pays the GPU for a message.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include <beacon/core/ids.hpp>
#include <beacon/core/messages.hpp>
#include <beacon/core/spec.hpp>
#include <beacon/core/state_machine.hpp>

namespace beacon::db {

struct Registration {
  std::string job_id;
  int submission = 1;       // 1 on the first submit, n on the n-th
  std::size_t total = 0;    // executions the job has
  std::size_t enqueued = 0; // == to_enqueue.size()
  std::size_t skipped = 0;  // already completed, not enqueued again
  // The messages to publish, in plan order, each with `submission` set.
  std::vector<ExecutionMessage> to_enqueue;
};

// Registers `spec` (whose job_id must be set) in one transaction.
//  * New id: the job (queued) and all planned executions (pending) are
//    inserted; everything is to be enqueued.
//  * Known id (a resume): the stored spec must equal spec.canonical_json() as
//    jsonb, else SpecError("job_id", ...) and nothing changes. Failed and
//    cancelled executions go back to pending with the counters moved, a
//    cancelled job is un-cancelled, submissions + 1. Every execution not
//    completed is to be enqueued (pending and running ones too: their
//    messages may be lost, and a duplicate is harmless), completed ones are
//    skipped.
// Concurrent submits of one id queue on the job row. `now_rfc3339` is the
// created_at of a new job and the enqueued_at of the messages.
// Throws SpecError/BadInput for a spec the database refuses, DatabaseUnavailable.
Registration register_job(pqxx::connection& conn, const JobSpec& spec, const std::string& now_rfc3339);

// What a cancel found and did.
struct CancelOutcome {
  bool cancelled_now = false;  // false: the job had finished (completed, failed or cancelled) already
  std::string status;          // the job's status after the call
  int submission = 1;          // the submission cancelled (jobs.submissions): the broadcast names it
};

// Cancels a job: pending executions become cancelled (counters moved), the
// job becomes `cancelled` with finished_at. A job that already finished
// (completed, failed, or cancelled before) is left exactly as it is.
// nullopt when the job is unknown.
std::optional<CancelOutcome> cancel_job(pqxx::connection& conn, const std::string& job_id);

// Current status of one execution; nullopt when no such row exists.
std::optional<ExecStatus> execution_status(pqxx::connection& conn, const ExecutionKey& key);

// Current status of a job ("queued", "running", ...); nullopt when unknown.
std::optional<std::string> job_status(pqxx::connection& conn, const std::string& job_id);

// Status and submission count of a job (the latest submit is number
// `submissions`); nullopt when unknown.
struct JobState {
  std::string status;
  int submissions = 1;
};
std::optional<JobState> job_state(pqxx::connection& conn, const std::string& job_id);

}  // namespace beacon::db
