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
#include <beacon/core/plan_stream.hpp>
#include <beacon/core/spec.hpp>
#include <beacon/core/state_machine.hpp>

namespace beacon::db {

// A submit in two steps, so that a job of millions of executions is
// registered and enqueued chunk by chunk in bounded memory:
//  1. begin_submit (one transaction):
//     * new id: the job row (queued, total = the plan's size), no executions yet;
//     * known id (a resume): the stored spec must equal spec.canonical_json()
//       as jsonb, else SpecError("job_id", ...) and nothing changes. Failed and
//       cancelled executions go back to pending with the counters moved, a
//       cancelled job is un-cancelled, submissions + 1, and every execution not
//       completed carries the new submission.
//  2. register_chunk for each PlanStream chunk, in order (one transaction
//     each): keys without a row get one (pending; cancelled when the job was
//     cancelled meanwhile), and it returns the indexes in the chunk of the
//     messages to enqueue: all of them for a fresh job, the not-completed ones
//     on a resume (pending and running too: their messages may be lost, and a
//     duplicate is harmless), none once the job is cancelled. The caller
//     publishes them only after the chunk committed (a message never precedes
//     its row).
// A submit killed anywhere in between loses nothing: the same submit again
// takes the resume path, writes the rows still missing and enqueues every
// execution not completed. Each row is written once (ON CONFLICT DO NOTHING
// on the primary key).
struct SubmitStart {
  bool fresh = false;         // the job row was created by this submit
  int submission = 1;         // 1 on the first submit, n on the n-th
  std::size_t total = 0;      // executions the job has
  std::size_t completed = 0;  // completed when the submit began (0 when fresh)
};
// Throws SpecError/BadInput for a spec the database refuses, DatabaseUnavailable.
// `now_rfc3339` is the created_at of a new job.
SubmitStart begin_submit(pqxx::connection& conn, const JobSpec& spec, const std::string& now_rfc3339);

// Chunks above this many keys make one statement's parameter needlessly big.
inline constexpr std::size_t kRegisterChunk = 20'000;
std::vector<std::size_t> register_chunk(pqxx::connection& conn, const std::string& job_id, const SubmitStart& start,
                                        const PlanChunk& chunk);

// Both steps for a whole (small) job, the messages held in memory: for
// tests and tools, never for a big job.
struct Registration {
  std::string job_id;
  int submission = 1;       // 1 on the first submit, n on the n-th
  std::size_t total = 0;    // executions the job has
  std::size_t enqueued = 0; // == to_enqueue.size()
  std::size_t skipped = 0;  // already completed, not enqueued again
  // The messages to publish, in plan order, each with `submission` set.
  std::vector<ExecutionMessage> to_enqueue;
};
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
