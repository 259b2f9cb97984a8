#pragma once
// The rows Postgres returns (db/progress_queries.hpp) turned into the view
// models the renderings take: one place for `status`, `report` and the
// dashboard, so the terminal and the web show the same numbers.
#include <optional>
#include <string>

#include <beacon/db/progress_queries.hpp>
#include <beacon/views/report.hpp>
#include <beacon/views/status_text.hpp>

namespace beacon::views {

// counts.refused is 0: the job row does not carry it (sum the groups').
JobSummary to_summary(const db::JobProgress& p);
GroupRow to_group_row(const db::GroupProgress& g);
ReportRow to_report_row(const db::ExecutionRow& r);
// The answer's text from a stored output JSON; "" when absent or not an
// object with a text (a stored output of another shape has no answer to show).
std::string answer_text(const std::optional<std::string>& output_json);

}  // namespace beacon::views
