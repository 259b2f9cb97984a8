#include <beacon/dashboard/dashboard_queries.hpp>

#include <pqxx/pqxx>

#include <beacon/db/sql_queries.hpp>
#include <beacon/db/transaction.hpp>

namespace beacon::dashboard {

std::optional<std::int64_t> job_version(pqxx::connection& conn, const std::string& job_id) {
  return db::transact(conn, [&](pqxx::work& w) -> std::optional<std::int64_t> {
    const pqxx::result r = w.exec_params(std::string(db::sql::dashboard_job_version), job_id);
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::int64_t>();
  });
}

std::optional<std::string> job_spec(pqxx::connection& conn, const std::string& job_id) {
  return db::transact(conn, [&](pqxx::work& w) -> std::optional<std::string> {
    const pqxx::result r = w.exec_params(std::string(db::sql::dashboard_job_spec), job_id);
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::string>();
  });
}

std::vector<db::MatrixCell> question_cells(pqxx::connection& conn, const std::string& job_id,
                                           const std::string& question_id, int limit, int offset) {
  return db::transact(conn, [&](pqxx::work& w) {
    std::vector<db::MatrixCell> out;
    for (const auto& row :
         w.exec_params(std::string(db::sql::dashboard_question_cells), job_id, question_id, limit, offset)) {
      db::MatrixCell c{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                       row[3].as<int>(), row[4].as<std::string>(), std::nullopt};
      if (!row[5].is_null()) c.classification = row[5].as<std::string>();
      out.push_back(std::move(c));
    }
    return out;
  });
}

void ping(pqxx::connection& conn) {
  db::transact(conn, [](pqxx::work& w) { w.exec(std::string(db::sql::dashboard_ping)); });
}

}  // namespace beacon::dashboard
