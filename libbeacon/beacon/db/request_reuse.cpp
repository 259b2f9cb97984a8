#include <beacon/db/request_reuse.hpp>

#include <pqxx/pqxx>

#include <beacon/db/sql_queries.hpp>

namespace beacon::db {

std::optional<ReusableAnswer> find_reusable_answer(pqxx::connection& conn, const std::string& digest_hex,
                                                   const std::string& job_id) {
  // One statement, one round trip (no BEGIN/COMMIT): it runs once per
  // message of a reusing job, on the preflight's one thread. A failure
  // propagates; the caller pays instead of retrying.
  pqxx::nontransaction tx(conn);
  const pqxx::result r = tx.exec_params(std::string(sql::reusable_execution), digest_hex, job_id);
  if (r.empty()) return std::nullopt;
  const auto& row = r[0];
  ReusableAnswer a;
  a.source = ExecutionKey{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                          row[3].as<std::string>(), row[4].as<int>()};
  a.output.text = row[5].is_null() ? std::string() : row[5].as<std::string>();
  a.output.classification =
      row[6].is_null() ? Classification::answered
                       : parse_classification(row[6].as<std::string>()).value_or(Classification::answered);
  a.output.finish_reason = row[7].is_null() ? std::string() : row[7].as<std::string>();
  if (!row[8].is_null()) a.output.prompt_tokens = row[8].as<long>();
  if (!row[9].is_null()) a.output.completion_tokens = row[9].as<long>();
  return a;
}

}  // namespace beacon::db
