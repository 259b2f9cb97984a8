#pragma once
// Read side for `beacon-producer status` and the dashboard: job and group
// progress from the views of migrations/0002_views.sql, and every execution of
// a job, streamed (export and report have their own cursors: export_rows.hpp,
// report_rows.hpp). Nothing here writes.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include <beacon/core/budget.hpp>
#include <beacon/core/cancel_reason.hpp>
#include <beacon/core/ids.hpp>
#include <beacon/core/messages.hpp>
#include <beacon/core/state_machine.hpp>

namespace beacon::db {

struct JobProgress {
  std::string job_id;
  std::string status;  // queued | running | completed | failed | cancelled
  std::int64_t total = 0, pending = 0, running = 0, completed = 0, failed = 0, cancelled = 0;
  double percent = 0;  // executions finished in any way, 0..100, 100 only when none is left
  int submissions = 1;
  std::string created_at;  // times: RFC 3339 UTC with milliseconds
  std::optional<std::string> started_at, finished_at;
  double elapsed_s = 0;  // since the first event (until finished_at); 0 before
  // elapsed / (completed + failed) * (pending + running): the job's own rate.
  // nullopt before the first finished execution, 0 once the job is finished.
  std::optional<double> eta_s;
  // Work remains and no execution finished for `stall_after_s` (load_job's
  // argument), counted from the last finish, else the first event, else creation.
  bool stalled = false;
  double stalled_for_s = 0;  // seconds since that moment
  // Why the job stopped early (jobs.stop_reason, migrations/0009) and its
  // budget; loaded by load_job only.
  std::optional<CancelReason> stop_reason;
  std::optional<JobBudget> budget;

  bool finished() const { return status == "completed" || status == "failed" || status == "cancelled"; }
};

// The job's progress from its maintained counters (no scan of executions);
// nullopt when the job is unknown.
inline constexpr double kDefaultStallAfterS = 300;
std::optional<JobProgress> load_job(pqxx::connection& conn, const std::string& job_id,
                                    double stall_after_s = kDefaultStallAfterS);

// The most recently created jobs, newest first (for `status` without a job id).
std::vector<JobProgress> recent_jobs(pqxx::connection& conn, int limit);

// question × model × region × sample → status, for `status --matrix`.
struct MatrixCell {
  std::string question_id, model_id, region;
  int sample = 0;
  std::string status;
  std::optional<std::string> classification;
};
std::vector<MatrixCell> load_matrix(pqxx::connection& conn, const std::string& job_id);

enum class Group { question, region, model };

struct GroupProgress {
  std::string group;  // the question id ("" for a job without questions), region or model id
  std::int64_t total = 0, pending = 0, running = 0, completed = 0, failed = 0, cancelled = 0;
  std::int64_t refused = 0;  // completed with classification "refused"
  double percent = 0;
  // Over completed executions; nullopt while there are none.
  std::optional<double> mean_latency_ms, p95_latency_ms;
  // Over completed executions (migration 0008). cost_usd: nullopt while no
  // priced execution completed; unpriced: completed ones without a cost.
  std::int64_t prompt_tokens = 0, completion_tokens = 0;
  std::optional<double> cost_usd;
  std::int64_t unpriced = 0;
};

// One entry per question / region / model of the job: questions in the order
// of the spec, regions and models by name. Empty for an unknown job.
std::vector<GroupProgress> load_groups(pqxx::connection& conn, const std::string& job_id, Group group);

struct ExecutionRow {
  ExecutionKey key;
  ExecStatus status = ExecStatus::pending;
  int attempts = 0;
  std::optional<std::string> worker_id;
  // Stored JSON, as text: output {"text","classification","finish_reason","usage"},
  // receipt {"endpoint","provider_id","http_status","latency_ms"[,"provider_receipt"]},
  // error {"kind","message"}.
  std::optional<std::string> output_json, receipt_json, error_json;
  std::optional<Classification> classification;
  std::optional<double> latency_ms;
  std::optional<std::int64_t> prompt_tokens, completion_tokens;
  std::optional<std::string> started_at, completed_at;  // RFC 3339 UTC
  std::string updated_at;
  std::optional<std::int64_t> seed;  // the seed the request carried (params.seed + sample)
  std::optional<double> cost_usd;    // by the endpoint's prices; nullopt = unpriced
  // A copied answer (migration 0010): {"job_id","region","model_id","question_id","sample"}
  // of the execution it was copied from; nullopt = the row paid for its own answer.
  std::optional<std::string> reused_from_json;
};

// The job's completed executions whose answer was copied from an earlier job
// (the maintained jobs.reused, migration 0010); 0 for an unknown job.
std::int64_t load_reused(pqxx::connection& conn, const std::string& job_id);

// One execution by its key; nullopt when there is no such row.
std::optional<ExecutionRow> load_execution(pqxx::connection& conn, const ExecutionKey& key);
// The prompt of a question of a job whose questions came from a file
// (job_questions, migrations/0012); nullopt when none is stored (a job
// submitted before that migration, or inline questions: those are in the spec).
std::optional<std::string> load_question_prompt(pqxx::connection& conn, const std::string& job_id,
                                                const std::string& question_id);

// The same (model, question, sample) of the job in every region, by region
// (the cross-region comparison of one execution).
std::vector<ExecutionRow> load_execution_across_regions(pqxx::connection& conn, const std::string& job_id,
                                                        const std::string& model_id,
                                                        const std::string& question_id, int sample);

// Calls `fn` for every execution of the job, in key order (region, model,
// question, sample), reading `page_size` rows at a time, all from one
// snapshot (a read-only REPEATABLE READ transaction). Memory stays bounded
// whatever the job's size. `fn` must not use `conn` (its transaction is
// open). Exceptions from `fn` stop the walk and propagate.
// Returns the number of rows visited (0 for an unknown job).
std::size_t for_each_execution(pqxx::connection& conn, const std::string& job_id,
                               const std::function<void(const ExecutionRow&)>& fn, int page_size = 2000);

}  // namespace beacon::db
