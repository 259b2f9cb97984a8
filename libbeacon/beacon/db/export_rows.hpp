#pragma once
// The rows `beacon-producer export` writes, streamed from a server-side
// cursor in key order with the next page fetched while the current one is
// written (cursor_pages.hpp). The row is a view into the page: nothing is
// copied per row, and a million-row job is never in memory.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <pqxx/connection>

#include <beacon/core/messages.hpp>
#include <beacon/core/state_machine.hpp>

namespace beacon::db {

// Valid only during the call it is passed to.
struct ExportRow {
  std::string_view region, model_id, question_id;
  int sample = 0;
  ExecStatus status = ExecStatus::pending;
  std::optional<Classification> classification;
  // output's "text" as a JSON string literal (quotes and escapes included);
  // nullopt when the row has no output or its "text" is not a string.
  std::optional<std::string_view> text_json;
  std::optional<double> latency_ms, cost_usd;
  std::optional<std::int64_t> prompt_tokens, completion_tokens, seed;
  int attempts = 0;
  // JSON texts as stored (jsonb's spelling), nullopt for SQL NULL.
  std::optional<std::string_view> reused_from_json, error_json, receipt_json;
  std::optional<std::string_view> worker_id, started_at, completed_at;  // times RFC 3339 UTC
};

// Calls `on_row` for every execution of the job (only those in `only`, if
// given), in key order, from one repeatable-read snapshot. Exceptions from
// `on_row` stop the walk and propagate; a lost connection throws
// DatabaseUnavailable. Returns the rows visited (0 for an unknown job).
std::size_t for_each_export_row(pqxx::connection& conn, const std::string& job_id,
                                std::optional<ExecStatus> only,
                                const std::function<void(const ExportRow&)>& on_row, int page_size = 5000);

}  // namespace beacon::db
