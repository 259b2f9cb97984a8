#pragma once
// The JSON of beacon-dashboard's API (docs/dashboard.md), rendered from plain
// values so it is unit-tested without a database. A job's object is the one
// `beacon-producer status JOB --json` prints (views::render_status_json), with
// the by-region and by-model rows and a few fields the page needs added.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <beacon/db/progress_queries.hpp>
#include <beacon/views/progress_model.hpp>

namespace beacon::dashboard {

// Above this many executions the job page does not draw the whole matrix:
// it shows a row per question (from the maintained counters) and draws one
// question's cells at a time, kCellPage per page.
inline constexpr std::int64_t kMaxMatrixCells = 2000;
inline constexpr int kCellPage = 2000;

enum class MatrixMode { cells, questions };
std::string_view to_string(MatrixMode m);

struct JobView {
  views::JobSummary job;  // counts.refused summed over the questions
  std::vector<views::GroupRow> questions, regions, models;
  std::optional<std::string> started_at, finished_at;
  int submissions = 1;
  std::int64_t version = 0;  // changes whenever a counter moves (dashboard_job_version.sql)
  MatrixMode matrix = MatrixMode::cells;
};


// GET /api/jobs: {"jobs": [job object without group rows, ...]}
std::string render_job_list_json(const std::vector<JobView>& jobs);
// GET /api/jobs/<id>
std::string render_job_json(const JobView& v);

struct MatrixPage {
  std::string job_id;
  std::int64_t version = 0;
  std::optional<std::string> question;  // set when the page is one question's cells
  int offset = 0, limit = kCellPage;
  MatrixMode mode = MatrixMode::cells;  // questions: no cells, draw the question rows
  std::vector<db::MatrixCell> cells;
};
// GET /api/jobs/<id>/matrix: cells as [question, model, region, sample, status, classification|null].
std::string render_matrix_json(const MatrixPage& m);

struct ExecutionDetail {
  db::ExecutionRow row;
  std::optional<std::string> prompt, system_prompt;  // from the job's stored spec
  std::vector<db::ExecutionRow> regions;             // the same model/question/sample everywhere
  std::optional<double> divergence;                  // as in `report` (views/report.hpp)
};
// GET /api/jobs/<id>/execution?...
std::string render_execution_json(const ExecutionDetail& d);


// {"error": message}
std::string render_error_json(const std::string& message);

}  // namespace beacon::dashboard
