#pragma once
// What the status views render: plain values read from Postgres by
// beacon/db/progress_queries, kept free of database types so the renderers
// are unit-tested on fixed data.
#include <optional>
#include <string>
#include <vector>

namespace beacon::views {

struct Counts {
  long total = 0, pending = 0, running = 0, completed = 0, failed = 0, cancelled = 0, refused = 0;
  long done() const { return completed + failed + cancelled; }
  double percent() const { return total == 0 ? 0.0 : 100.0 * static_cast<double>(done()) / static_cast<double>(total); }
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
};

struct GroupRow {
  std::string group;  // question id, region or model ("" for a job without questions)
  Counts counts;
  std::optional<double> mean_latency_ms, p95_latency_ms;
};

struct MatrixCell {
  std::string question, model, region, status, classification;
};

}  // namespace beacon::views
