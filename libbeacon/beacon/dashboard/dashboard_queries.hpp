#pragma once
// The few reads of the dashboard that `status` and `report` do not already
// make (those come from beacon/db/progress_queries). SQL in
// beacon/db/sql/dashboard_*.sql; nothing here writes.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include <beacon/db/progress_queries.hpp>

namespace beacon::dashboard {

// jobs.updated_at in microseconds: moves with every counter; nullopt for an unknown job.
std::optional<std::int64_t> job_version(pqxx::connection& conn, const std::string& job_id);

// The stored spec's text; nullopt for an unknown job.
std::optional<std::string> job_spec(pqxx::connection& conn, const std::string& job_id);

// One page of one question's cells, ordered model, region, sample.
std::vector<db::MatrixCell> question_cells(pqxx::connection& conn, const std::string& job_id,
                                           const std::string& question_id, int limit, int offset);

// SELECT 1, for /readyz.
void ping(pqxx::connection& conn);

}  // namespace beacon::dashboard
