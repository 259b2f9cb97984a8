#include <beacon/views/from_db.hpp>

#include <beacon/core/errors.hpp>
#include <beacon/core/json.hpp>

namespace beacon::views {
namespace {

Counts to_counts(std::int64_t total, std::int64_t pending, std::int64_t running, std::int64_t completed,
                 std::int64_t failed, std::int64_t cancelled, std::int64_t refused) {
  Counts c;
  c.total = total;
  c.pending = pending;
  c.running = running;
  c.completed = completed;
  c.failed = failed;
  c.cancelled = cancelled;
  c.refused = refused;
  return c;
}

}  // namespace

JobSummary to_summary(const db::JobProgress& p) {
  JobSummary j;
  j.job_id = p.job_id;
  j.status = p.status;
  j.created_at = p.created_at;
  j.elapsed_s = p.elapsed_s;
  j.eta_s = p.eta_s;
  j.stalled = p.stalled;
  j.stalled_for_s = p.stalled_for_s;
  j.stop_reason = p.stop_reason;
  j.budget = p.budget;
  j.counts = to_counts(p.total, p.pending, p.running, p.completed, p.failed, p.cancelled, 0);
  return j;
}

GroupRow to_group_row(const db::GroupProgress& g) {
  GroupRow row;
  row.group = g.group;
  row.counts = to_counts(g.total, g.pending, g.running, g.completed, g.failed, g.cancelled, g.refused);
  row.mean_latency_ms = g.mean_latency_ms;
  row.p95_latency_ms = g.p95_latency_ms;
  row.spend = Spend{static_cast<long>(g.prompt_tokens), static_cast<long>(g.completion_tokens), g.cost_usd};
  return row;
}

ReportRow to_report_row(const db::ExecutionRow& r) {
  ReportRow row;
  row.region = r.key.region;
  row.model = r.key.model_id;
  row.question = r.key.question_id;
  row.sample = r.key.sample;
  row.status = std::string(to_string(r.status));
  if (r.classification) row.classification = std::string(to_string(*r.classification));
  row.text = answer_text(r.output_json);
  return row;
}

std::string answer_text(const std::optional<std::string>& output_json) {
  if (!output_json) return "";
  try {
    auto doc = json::parse(*output_json);
    if (doc.IsObject()) return json::get_optional_string(doc, "text").value_or("");
  } catch (const BadInput&) {
    // Not an object with a text: no answer to show or count.
  }
  return "";
}

}  // namespace beacon::views
