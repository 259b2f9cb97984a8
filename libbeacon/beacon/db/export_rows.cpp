#include <beacon/db/export_rows.hpp>

#include <stdexcept>

#include <pqxx/except>
#include <pqxx/pqxx>

#include <beacon/db/connect.hpp>
#include <beacon/db/nullable.hpp>
#include <beacon/db/cursor_pages.hpp>
#include <beacon/db/sql_queries.hpp>

namespace beacon::db {
namespace {

std::string_view view(const pqxx::field& f) { return {f.c_str(), f.size()}; }

std::optional<std::string_view> opt_view(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return view(f);
}

// Fills `x` from a row of export_rows.sql (its column order).
void read_row(const pqxx::row& r, ExportRow& x) {
  x.region = view(r[0]);
  x.model_id = view(r[1]);
  x.question_id = view(r[2]);
  x.sample = r[3].as<int>();
  const auto status = parse_exec_status(view(r[4]));
  if (!status) throw std::logic_error("executions.status holds an unknown value: " + std::string(view(r[4])));
  x.status = *status;
  x.classification = r[5].is_null() ? std::nullopt : parse_classification(view(r[5]));
  // (output -> 'text')::text of a JSON string starts with its quote; a number
  // or an object there is no answer text.
  x.text_json = opt_view(r[6]);
  if (x.text_json && (x.text_json->empty() || x.text_json->front() != '"')) x.text_json.reset();
  x.latency_ms = nullable<double>(r[7]);
  x.prompt_tokens = nullable<std::int64_t>(r[8]);
  x.completion_tokens = nullable<std::int64_t>(r[9]);
  x.attempts = r[10].as<int>();
  x.seed = nullable<std::int64_t>(r[11]);
  x.cost_usd = nullable<double>(r[12]);
  x.reused_from_json = opt_view(r[13]);
  x.worker_id = opt_view(r[14]);
  x.error_json = opt_view(r[15]);
  x.receipt_json = opt_view(r[16]);
  x.started_at = opt_view(r[17]);
  x.completed_at = opt_view(r[18]);
}

}  // namespace

std::size_t for_each_export_row(pqxx::connection& conn, const std::string& job_id,
                                std::optional<ExecStatus> only,
                                const std::function<void(const ExportRow&)>& on_row, int page_size) {
  try {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> t(conn);
    const std::string status = only ? std::string(to_string(*only)) : std::string();
    t.exec_params(std::string(sql::export_rows), job_id, only ? status.c_str() : nullptr);  // NULL: all
    ExportRow x;
    const std::size_t rows = for_each_cursor_page(t, "export_rows", page_size, [&](const pqxx::result& page) {
      for (const auto& r : page) {
        read_row(r, x);
        on_row(x);
      }
    });
    t.exec("CLOSE export_rows");
    t.commit();
    return rows;
  } catch (const pqxx::broken_connection& e) {
    throw DatabaseUnavailable(std::string("connection to Postgres lost: ") + e.what());
  }
}

}  // namespace beacon::db
