#include <beacon/views/status_text.hpp>

#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include <beacon/core/json.hpp>

namespace beacon::views {
namespace {

std::string fixed1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

void write_counts(json::Writer& w, const Counts& c) {
  w.Key("total"); w.Int64(c.total);
  w.Key("pending"); w.Int64(c.pending);
  w.Key("running"); w.Int64(c.running);
  w.Key("completed"); w.Int64(c.completed);
  w.Key("failed"); w.Int64(c.failed);
  w.Key("cancelled"); w.Int64(c.cancelled);
  w.Key("refused"); w.Int64(c.refused);
  w.Key("done"); w.Int64(c.done());
  w.Key("percent"); w.Double(static_cast<double>(static_cast<long>(c.percent() * 10 + 0.5)) / 10);
}

void write_optional(json::Writer& w, const char* key, const std::optional<double>& v) {
  w.Key(key);
  if (v) w.Double(*v); else w.Null();
}

void write_spend(json::Writer& w, const Spend& s) {
  w.Key("prompt_tokens"); w.Int64(s.prompt_tokens);
  w.Key("completion_tokens"); w.Int64(s.completion_tokens);
  write_optional(w, "cost_usd", s.cost_usd);
}

}  // namespace

std::string format_usd(double usd);

namespace {

// "budget $1.0000 (spent $0.9000) · 5000 tokens (spent 4100)": each limit set.
std::string budget_line(const JobBudget& b, const Spend& spent) {
  std::ostringstream out;
  out << "budget";
  if (b.max_cost_usd) out << " " << format_usd(*b.max_cost_usd) << " (spent " << format_usd(spent.cost_usd.value_or(0)) << ")";
  if (b.max_cost_usd && b.max_tokens) out << " ·";
  if (b.max_tokens)
    out << " " << *b.max_tokens << " tokens (spent " << spent.prompt_tokens + spent.completion_tokens << ")";
  return out.str();
}

}  // namespace

std::string format_usd(double usd) {
  char buf[48];
  // Cents hide what a small evaluation costs: four decimals below $100.
  std::snprintf(buf, sizeof buf, usd < 100 ? "$%.4f" : "$%.2f", usd);
  return buf;
}

std::string format_duration(double seconds) {
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%lds", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  return buf;
}

std::string group_mark(const Counts& c) {
  if (c.total > 0 && c.done() == c.total) {
    if (c.failed > 0) return "❌";
    // Cancelled (by `cancel` or a budget) is finished but not answered: a
    // tick would claim results that were never paid for.
    return c.cancelled > 0 ? "⏹️" : "✅";
  }
  if (c.done() > 0 || c.running > 0) return "⏳";
  return "⏸️";
}

std::string render_status(const JobSummary& job, const std::vector<GroupRow>& groups, const std::string& group_title) {
  std::ostringstream out;
  const auto& c = job.counts;
  out << "job " << job.job_id << " · " << job.status << " · " << c.done() << "/" << c.total << " ("
      << fixed1(c.percent()) << "%)\n";
  out << "completed " << c.completed << " · failed " << c.failed << " · running " << c.running << " · pending "
      << c.pending << " · cancelled " << c.cancelled << " · refused " << c.refused << "\n";
  out << "elapsed " << format_duration(job.elapsed_s);
  if (job.eta_s) out << " · ETA " << format_duration(*job.eta_s);
  else if (c.done() < c.total && job.status != "cancelled") out << " · ETA unknown";
  out << "\n";
  const auto& sp = job.spend;
  if (sp.prompt_tokens > 0 || sp.completion_tokens > 0 || sp.cost_usd) {
    out << "tokens " << sp.prompt_tokens << " in · " << sp.completion_tokens << " out";
    if (sp.cost_usd) out << " · cost " << format_usd(*sp.cost_usd);
    out << "\n";
  }
  if (job.budget) out << budget_line(*job.budget, sp) << "\n";
  if (job.stop_reason == CancelReason::budget_exhausted)
    out << "stopped: budget exhausted (no new inference; the executions not answered are cancelled; re-submit "
           "with a higher budget to resume)\n";
  else if (job.stop_reason == CancelReason::cancel)
    out << "stopped: cancelled (beacon-producer cancel)\n";
  if (job.reused.value_or(0) > 0)
    out << "reused " << *job.reused << " of the completed (answers copied from earlier jobs, not paid)\n";
  if (job.stalled)
    out << "⚠ stalled: no execution finished for " << format_duration(job.stalled_for_s.value_or(0))
        << " while work remains\n";
  if (!groups.empty()) out << group_title << ":\n";
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const auto& g = groups[i];
    out << (i + 1 == groups.size() ? "└─ " : "├─ ") << (g.group.empty() ? "(no question)" : g.group) << ": "
        << g.counts.done() << "/" << g.counts.total << " " << group_mark(g.counts);
    if (g.counts.failed > 0) out << " (" << g.counts.failed << " failed)";
    if (g.counts.refused > 0) out << " (" << g.counts.refused << " refused)";
    if (g.spend.cost_usd) out << " · " << format_usd(*g.spend.cost_usd);
    out << "\n";
  }
  return out.str();
}

std::string render_status_json(const JobSummary& job, const std::vector<GroupRow>& groups, const std::string& group_key) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("job_id"); w.String(job.job_id.c_str());
  w.Key("status"); w.String(job.status.c_str());
  write_counts(w, job.counts);
  w.Key("created_at"); w.String(job.created_at.c_str());
  w.Key("elapsed_s"); w.Double(job.elapsed_s);
  write_optional(w, "eta_s", job.eta_s);
  w.Key("stalled"); w.Bool(job.stalled);
  write_spend(w, job.spend);
  if (job.reused) { w.Key("reused"); w.Int64(*job.reused); }
  w.Key("stop_reason");
  if (job.stop_reason) {
    const auto r = to_string(*job.stop_reason);
    w.String(r.data(), static_cast<rapidjson::SizeType>(r.size()));
  } else {
    w.Null();
  }
  if (job.budget) write_budget(w, *job.budget);
  w.Key(group_key.c_str());
  w.StartArray();
  for (const auto& g : groups) {
    w.StartObject();
    w.Key("id"); w.String(g.group.c_str());
    write_counts(w, g.counts);
    write_optional(w, "mean_latency_ms", g.mean_latency_ms);
    write_optional(w, "p95_latency_ms", g.p95_latency_ms);
    write_spend(w, g.spend);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::string render_job_list(const std::vector<JobSummary>& jobs) {
  std::ostringstream out;
  if (jobs.empty()) return "no jobs yet\n";
  for (const auto& j : jobs) {
    out << j.created_at << "  " << j.job_id << "  " << j.status << "  " << j.counts.done() << "/" << j.counts.total
        << " (" << fixed1(j.counts.percent()) << "%)";
    if (j.counts.failed > 0) out << "  failed " << j.counts.failed;
    out << "\n";
  }
  return out.str();
}

std::string render_matrix(const std::vector<MatrixCell>& cells) {
  // Rows: question × model, in the order the cells come (spec order);
  // columns: regions by name; a cell is one mark per sample.
  std::set<std::string> regions;
  std::vector<std::pair<std::string, std::string>> order;
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::string>> rows;
  for (const auto& c : cells) {
    regions.insert(c.region);
    std::string mark = c.status == "completed" ? (c.classification == "refused" ? "R" : "✓")
                       : c.status == "failed"  ? "✗"
                       : c.status == "running" ? "…"
                       : c.status == "cancelled" ? "-"
                                                 : "·";
    auto key = std::make_pair(c.question, c.model);
    if (!rows.count(key)) order.push_back(key);
    rows[key][c.region] += mark;
  }
  std::size_t qw = 8, mw = 5;
  for (const auto& k : order) {
    qw = std::max(qw, k.first.size());
    mw = std::max(mw, k.second.size());
  }
  std::ostringstream out;
  auto pad = [](const std::string& s, std::size_t w) { return s + std::string(w > s.size() ? w - s.size() : 0, ' '); };
  out << pad("question", qw) << "  " << pad("model", mw);
  for (const auto& r : regions) out << "  " << r;
  out << "\n";
  for (const auto& k : order) {
    const auto& v = rows[k];
    out << pad(k.first.empty() ? "-" : k.first, qw) << "  " << pad(k.second, mw);
    for (const auto& r : regions) {
      auto it = v.find(r);
      std::string cell = it == v.end() ? "" : it->second;
      // Marks are one column wide on a terminal; pad by mark count.
      std::size_t width = 0;
      for (unsigned char ch : cell) width += (ch & 0xC0) != 0x80;
      out << "  " << cell << std::string(r.size() > width ? r.size() - width : 0, ' ');
    }
    out << "\n";
  }
  out << "✓ answered · R refused · ✗ failed · … running · · pending · - cancelled\n";
  return out.str();
}

}  // namespace beacon::views
