#include <beacon/dashboard/job_reader.hpp>

#include <spdlog/spdlog.h>

#include <beacon/core/prompt.hpp>
#include <beacon/core/spec.hpp>
#include <beacon/dashboard/dashboard_queries.hpp>
#include <beacon/views/from_db.hpp>

namespace beacon::dashboard {
namespace {

std::vector<views::GroupRow> rows_of(pqxx::connection& conn, const std::string& job_id, db::Group g) {
  std::vector<views::GroupRow> out;
  for (const auto& row : db::load_groups(conn, job_id, g)) out.push_back(views::to_group_row(row));
  return out;
}

JobView view_of(const db::JobProgress& p) {
  JobView v;
  v.job = views::to_summary(p);
  v.started_at = p.started_at;
  v.finished_at = p.finished_at;
  v.submissions = p.submissions;
  v.matrix = p.total > kMaxMatrixCells ? MatrixMode::questions : MatrixMode::cells;
  return v;
}

long refused_of(const std::vector<views::GroupRow>& rows) {
  long n = 0;
  for (const auto& r : rows) n += r.counts.refused;
  return n;
}

}  // namespace

std::optional<JobView> read_job(pqxx::connection& conn, const std::string& job_id) {
  // The version first: a counter that moves after it is read makes the next
  // poll read again, never the other way round.
  const auto version = job_version(conn, job_id);
  if (!version) return std::nullopt;
  const auto p = db::load_job(conn, job_id);
  if (!p) return std::nullopt;
  JobView v = view_of(*p);
  v.version = *version;
  v.questions = rows_of(conn, job_id, db::Group::question);
  v.regions = rows_of(conn, job_id, db::Group::region);
  v.models = rows_of(conn, job_id, db::Group::model);
  v.job.counts.refused = refused_of(v.questions);
  return v;
}

std::vector<JobView> read_recent_jobs(pqxx::connection& conn, int limit) {
  std::vector<JobView> out;
  for (const auto& p : db::recent_jobs(conn, limit)) {
    JobView v = view_of(p);
    // Regions are the fewest group rows that still sum to the job's refusals.
    v.job.counts.refused = refused_of(rows_of(conn, p.job_id, db::Group::region));
    out.push_back(std::move(v));
  }
  return out;
}

MatrixPage read_matrix(pqxx::connection& conn, const JobView& job, const std::optional<std::string>& question,
                       int offset) {
  MatrixPage m;
  m.job_id = job.job.job_id;
  m.version = job.version;
  if (question) {
    m.question = question;
    m.offset = offset;
    m.cells = question_cells(conn, m.job_id, *question, kCellPage, offset);
  } else if (job.matrix == MatrixMode::cells) {
    m.limit = static_cast<int>(kMaxMatrixCells);
    m.cells = db::load_matrix(conn, m.job_id);
  } else {
    m.mode = MatrixMode::questions;
  }
  return m;
}

std::optional<ExecutionDetail> read_execution(pqxx::connection& conn, const ExecutionKey& key) {
  auto row = db::load_execution(conn, key);
  if (!row) return std::nullopt;
  ExecutionDetail d;
  d.row = std::move(*row);
  if (const auto spec_text = job_spec(conn, key.job_id)) {
    try {
      const JobSpec spec = parse_job_spec(*spec_text);
      for (const auto& q : spec.questions)
        if (q.id == key.question_id) d.prompt = q.prompt;
      if (spec.questions_file) {
        // The stored spec holds the file's digest only; submit kept the prompts.
        if (auto prompt = db::load_question_prompt(conn, key.job_id, key.question_id)) d.prompt = std::move(*prompt);
      } else if (spec.questions.empty()) {
        d.prompt = "";
      }
      d.system_prompt = render_system_prompt(spec.system_prompt, key.region, key.model_id);
    } catch (const std::exception& e) {
      // The page still shows the answer; the prompt is left out, and said so in the log.
      spdlog::warn("dashboard: stored spec does not parse ({}); {}", e.what(), key.log_context());
    }
  }
  d.regions = db::load_execution_across_regions(conn, key.job_id, key.model_id, key.question_id, key.sample);
  // The divergence `report` computes, over just this (model, question, sample).
  views::ReportBuilder builder(key.job_id);
  for (const auto& r : d.regions) builder.add(views::to_report_row(r));
  const auto rep = builder.finish();
  if (!rep.questions.empty()) d.divergence = rep.questions.front().divergence;
  return d;
}

views::Report read_report(pqxx::connection& conn, const std::string& job_id) {
  views::ReportBuilder builder(job_id);
  db::for_each_execution(conn, job_id, [&](const db::ExecutionRow& r) { builder.add(views::to_report_row(r)); });
  return builder.finish();
}

}  // namespace beacon::dashboard
