#pragma once
// The rows `beacon-producer report` needs, streamed from a server-side cursor
// in (question, model, sample, region) order, a page at a time: a
// million-row job is never in memory (views/report_stream.hpp consumes it).
#include <cstddef>
#include <functional>
#include <string>

#include <pqxx/connection>

namespace beacon::db {

struct ReportSourceRow {
  std::string question_id, model_id, region;
  int sample = 0;
  std::string status;          // pending, running, completed, failed, cancelled
  std::string classification;  // "" unless completed
  std::string text;            // the answer text, "" unless completed
};

// One repeatable-read snapshot: first on_totals(executions, completed), then
// on_row for every row in order. Throws DatabaseUnavailable when the
// connection is lost.
void read_report_rows(pqxx::connection& conn, const std::string& job_id,
                      const std::function<void(long executions, long completed)>& on_totals,
                      const std::function<void(const ReportSourceRow&)>& on_row, int page_size = 5000);

}  // namespace beacon::db
