#include <beacon/db/transaction.hpp>

#include <thread>

#include <pqxx/except>

#include <beacon/db/connect.hpp>

namespace beacon::db {

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
    }
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
}

}  // namespace beacon::db
