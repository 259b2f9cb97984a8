#include <beacon/db/transaction.hpp>

#include <thread>

#include <pqxx/except>

#include <beacon/db/connect.hpp>

namespace beacon::db {
namespace {

// SQLSTATE classes that mean "the server cannot serve us now": 08 connection
// exception, 53 insufficient resources (too many connections), 57 operator
// intervention (shutdown, starting up, cancelled), 58 system error (I/O).
// A statement on a connection that has gone is an outage whatever its code.
bool is_outage(const std::string& sqlstate, const pqxx::connection& conn) {
  if (!conn.is_open()) return true;
  const std::string cls = sqlstate.substr(0, 2);
  return cls == "08" || cls == "53" || cls == "57" || cls == "58";
}

}  // namespace

void run_transaction(pqxx::connection& conn, const std::function<void(pqxx::work&)>& work,
                     const RetryPolicy& policy) {
  auto backoff = policy.first_backoff;
  for (int attempt = 1;; ++attempt) {
    try {
      pqxx::work w(conn);
      work(w);
      w.commit();
      return;
    } catch (const pqxx::deadlock_detected&) {
      if (attempt >= policy.max_attempts) throw;
    } catch (const pqxx::serialization_failure&) {
      if (attempt >= policy.max_attempts) throw;
    } catch (const pqxx::in_doubt_error& e) {
      throw DatabaseUnavailable(std::string("connection lost while committing; the outcome is unknown: ") +
                                e.what());
    } catch (const pqxx::broken_connection& e) {
      throw DatabaseUnavailable(std::string("connection to Postgres lost: ") + e.what());
    } catch (const pqxx::sql_error& e) {
      // pqxx 6.4 reports a server going away (57P01 admin_shutdown during a
      // restart, 57P03 still starting up, ...) as a plain sql_error. That is
      // an outage, not bad data: the caller must retry, never give up on it.
      if (!is_outage(e.sqlstate(), conn)) throw;
      throw DatabaseUnavailable(std::string("Postgres unavailable (SQLSTATE ") + e.sqlstate() + "): " + e.what());
    }
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
}

}  // namespace beacon::db
