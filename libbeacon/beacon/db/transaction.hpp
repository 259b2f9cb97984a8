#pragma once
// Running one unit of work in a transaction, with the retries Postgres asks
// for. Deadlocks and serialization failures are the server saying "try again":
// the transaction is rolled back and the work is run again, a bounded number
// of times. A lost connection, and an SQL error that means the server cannot
// serve now (SQLSTATE classes 08, 53, 57, 58: shutting down, starting up, too
// many connections), become DatabaseUnavailable (connect.hpp): the
// pqxx::connection is then dead for good (pqxx 6.4 does not reopen a broken
// direct connection), so the caller opens a new one with connect() to retry.
#include <chrono>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include <pqxx/connection>
#include <pqxx/transaction>

namespace beacon::db {

struct RetryPolicy {
  int max_attempts = 5;                         // runs in all, the first included
  std::chrono::milliseconds first_backoff{10};  // doubled after each failed run
};

// Runs `work` in a READ COMMITTED transaction and commits. `work` may run
// several times, so it must not have effects outside the transaction other
// than what it returns.
void run_transaction(pqxx::connection& conn, const std::function<void(pqxx::work&)>& work,
                     const RetryPolicy& policy = {});

// The same, returning what `fn(pqxx::work&)` returns from the run that committed.
template <class Fn>
auto transact(pqxx::connection& conn, Fn&& fn, const RetryPolicy& policy = {}) {
  using R = std::invoke_result_t<Fn&, pqxx::work&>;
  if constexpr (std::is_void_v<R>) {
    run_transaction(conn, [&](pqxx::work& w) { fn(w); }, policy);
  } else {
    std::optional<R> out;
    run_transaction(conn, [&](pqxx::work& w) { out.emplace(fn(w)); }, policy);
    return std::move(*out);
  }
}

}  // namespace beacon::db
