#include <beacon/db/report_rows.hpp>

#include <stdexcept>

#include <pqxx/except>
#include <pqxx/pqxx>

#include <beacon/db/connect.hpp>
#include <beacon/db/cursor_pages.hpp>
#include <beacon/db/sql_queries.hpp>

namespace beacon::db {

void read_report_rows(pqxx::connection& conn, const std::string& job_id,
                      const std::function<void(long executions, long completed)>& on_totals,
                      const std::function<void(const ReportSourceRow&)>& on_row, int page_size) {
  try {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> t(conn);
    const pqxx::row totals = t.exec_params1(std::string(sql::report_totals), job_id);
    on_totals(totals[0].as<long>(), totals[1].as<long>());
    t.exec_params(std::string(sql::report_rows), job_id);
    ReportSourceRow r;
    for_each_cursor_page(t, "report_rows", page_size, [&](const pqxx::result& page) {
      for (const auto& row : page) {
        r.question_id = row[0].as<std::string>();
        r.model_id = row[1].as<std::string>();
        r.sample = row[2].as<int>();
        r.region = row[3].as<std::string>();
        r.status = row[4].as<std::string>();
        r.classification = row[5].as<std::string>();
        r.text = row[6].as<std::string>();
        on_row(r);
      }
    });
    t.exec("CLOSE report_rows");
    t.commit();
  } catch (const pqxx::broken_connection& e) {
    throw DatabaseUnavailable(std::string("connection to Postgres lost: ") + e.what());
  }
}

}  // namespace beacon::db
