#pragma once
// What each dashboard page needs, read from Postgres with the progress
// queries `status` and `report` use (beacon/db/progress_queries) plus
// dashboard_queries. Reads of the maintained counters only, except
// read_matrix (at most kMaxMatrixCells / kCellPage rows, via an index) and
// read_report (every row of the job: the caller caches it).
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include <beacon/dashboard/api_json.hpp>
#include <beacon/views/report.hpp>

namespace beacon::dashboard {

std::optional<JobView> read_job(pqxx::connection& conn, const std::string& job_id);
std::vector<JobView> read_recent_jobs(pqxx::connection& conn, int limit);

// The whole matrix of a job with at most kMaxMatrixCells executions; for a
// larger one mode "questions" without cells, unless `question` asks for one
// question's cells (a page of kCellPage from `offset`).
MatrixPage read_matrix(pqxx::connection& conn, const JobView& job, const std::optional<std::string>& question,
                       int offset);

// nullopt when there is no such execution.
std::optional<ExecutionDetail> read_execution(pqxx::connection& conn, const ExecutionKey& key);

// `beacon-producer report JOB` computed the same way: every stored row.
views::Report read_report(pqxx::connection& conn, const std::string& job_id);

}  // namespace beacon::dashboard
