#pragma once
// What the status views render: plain values read from Postgres by
// beacon/db/progress_queries, kept free of database types so the renderers
// are unit-tested on fixed data.
#include <optional>
#include <string>
#include <vector>

#include <beacon/core/budget.hpp>
#include <beacon/core/cancel_reason.hpp>

namespace beacon::views {

struct Counts {
  long total = 0, pending = 0, running = 0, completed = 0, failed = 0, cancelled = 0, refused = 0;
  long done() const { return completed + failed + cancelled; }
  double percent() const { return total == 0 ? 0.0 : 100.0 * static_cast<double>(done()) / static_cast<double>(total); }
};

// Tokens and cost of the completed executions (cost: nullopt while nothing
// priced was answered; see infer/pricing.hpp).
struct Spend {
  long prompt_tokens = 0, completion_tokens = 0;
  std::optional<double> cost_usd;
  void add(const Spend& o) {
    prompt_tokens += o.prompt_tokens;
    completion_tokens += o.completion_tokens;
    if (o.cost_usd) cost_usd = cost_usd.value_or(0) + *o.cost_usd;
  }
};

struct JobSummary {
  std::string job_id;
  std::string status;      // queued, running, completed, failed, cancelled
  Counts counts;
  std::string created_at;  // RFC 3339
  double elapsed_s = 0;    // since started_at (or created_at), until finished_at or now
  std::optional<double> eta_s;
  bool stalled = false;    // no execution finished for a while though work remains
  std::optional<double> stalled_for_s;
  Spend spend;  // filled by callers that load the groups (status)
  // Completed executions copied from an earlier job's answer (reuse), also in
  // counts.completed; filled by `status` (nullopt: not loaded, not shown).
  std::optional<long> reused;
  // Why the job stopped early (nullopt: it did not) and its budget, if any.
  std::optional<CancelReason> stop_reason;
  std::optional<JobBudget> budget;
};

struct GroupRow {
  std::string group;  // question id, region or model ("" for a job without questions)
  Counts counts;
  std::optional<double> mean_latency_ms, p95_latency_ms;
  Spend spend;
};

struct MatrixCell {
  std::string question, model, region, status, classification;
};

}  // namespace beacon::views
