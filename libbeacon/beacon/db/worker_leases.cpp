#include <beacon/db/worker_leases.hpp>

#include <stdexcept>

#include <pqxx/pqxx>

#include <beacon/db/sql_queries.hpp>
#include <beacon/db/transaction.hpp>

namespace beacon::db {

bool worker_leases_available(pqxx::connection& conn) {
  return transact(conn, [](pqxx::work& w) {
    return w.exec(std::string(sql::worker_heartbeats_exist))[0][0].as<bool>();
  });
}

void heartbeat_worker(pqxx::connection& conn, const std::string& worker_id, const std::string& region) {
  transact(conn, [&](pqxx::work& w) { w.exec_params(std::string(sql::heartbeat_worker), worker_id, region); });
}

void forget_worker(pqxx::connection& conn, const std::string& worker_id) {
  transact(conn, [&](pqxx::work& w) { w.exec_params(std::string(sql::forget_worker), worker_id); });
}

std::optional<ExecutionLease> execution_lease(pqxx::connection& conn, const ExecutionKey& key,
                                              std::chrono::seconds expiry) {
  return transact(conn, [&](pqxx::work& w) -> std::optional<ExecutionLease> {
    const pqxx::result r = w.exec_params(std::string(sql::execution_lease), key.job_id, key.region, key.model_id,
                                         key.question_id, key.sample, static_cast<double>(expiry.count()));
    if (r.empty()) return std::nullopt;
    auto status = parse_exec_status(r[0][0].as<std::string>());
    if (!status) throw std::logic_error("executions.status holds an unknown value: " + r[0][0].as<std::string>());
    return ExecutionLease{*status, r[0][1].as<std::string>(), r[0][2].as<bool>()};
  });
}

}  // namespace beacon::db
