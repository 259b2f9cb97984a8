// transact(): reruns what Postgres asks to rerun, a bounded number of times.
#include <atomic>
#include <thread>

#include <pqxx/pqxx>

#include <beacon/db/transaction.hpp>

#include "test_db.hpp"

namespace beacon::db::testing {
namespace {

TEST_F(DbTest, TransactRerunsAfterDeadlockAndSerializationFailure) {
  int runs = 0;
  const int value = transact(conn(), [&](pqxx::work& w) {
    ++runs;
    if (runs == 1) throw pqxx::deadlock_detected("test: deadlock");
    if (runs == 2) throw pqxx::serialization_failure("test: serialization failure");
    return w.exec("SELECT 42")[0][0].as<int>();
  });
  EXPECT_EQ(value, 42);
  EXPECT_EQ(runs, 3);
}

TEST_F(DbTest, TransactGivesUpAfterMaxAttempts) {
  int runs = 0;
  EXPECT_THROW(transact(
                   conn(),
                   [&](pqxx::work&) {
                     ++runs;
                     throw pqxx::deadlock_detected("test: deadlock");
                   },
                   RetryPolicy{3, std::chrono::milliseconds(1)}),
               pqxx::deadlock_detected);
  EXPECT_EQ(runs, 3);
}

TEST_F(DbTest, TransactDoesNotRetryOtherErrorsAndRollsBack) {
  const std::string table = unique_id("tx_test");
  int runs = 0;
  EXPECT_THROW(transact(conn(),
                        [&](pqxx::work& w) {
                          ++runs;
                          w.exec("CREATE TABLE " + w.quote_name(table) + " (id integer)");
                          w.exec("SELECT no_such_column FROM " + w.quote_name(table));
                        }),
               pqxx::sql_error);
  EXPECT_EQ(runs, 1);
  pqxx::nontransaction t(conn());
  EXPECT_TRUE(t.exec_params1("SELECT to_regclass($1)", t.quote_name(table))[0].is_null());
}

TEST_F(DbTest, RealDeadlockBetweenTwoTransactionsIsRetriedToSuccess) {
  // Two transactions lock two rows in opposite orders: Postgres kills one,
  // transact() reruns it, both commit.
  const std::string a = unique_id("tx-a"), b = unique_id("tx-b");
  {
    pqxx::nontransaction t(conn());
    t.exec_params("INSERT INTO jobs (job_id, spec, total) VALUES ($1, '{}', 0), ($2, '{}', 0)", a, b);
  }
  std::atomic<int> runs{0};
  std::atomic<int> first_locks{0};
  auto worker = [&](const std::string& first, const std::string& second, std::string& error) {
    try {
      auto c = open_connection();
      transact(*c, [&](pqxx::work& w) {
        ++runs;
        w.exec_params("UPDATE jobs SET updated_at = now() WHERE job_id = $1", first);
        // Wait (bounded) until both hold their first row, then cross.
        ++first_locks;
        for (int i = 0; i < 200 && first_locks.load() < 2; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        w.exec_params("UPDATE jobs SET updated_at = now() WHERE job_id = $1", second);
      });
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  std::vector<std::string> errors(2);
  std::thread t1(worker, a, b, std::ref(errors[0]));
  std::thread t2(worker, b, a, std::ref(errors[1]));
  t1.join();
  t2.join();
  EXPECT_EQ(errors, (std::vector<std::string>{"", ""}));
  EXPECT_GE(runs.load(), 3);  // the victim ran again
  pqxx::nontransaction(conn()).exec_params("DELETE FROM jobs WHERE job_id IN ($1, $2)", a, b);
}

}  // namespace
}  // namespace beacon::db::testing
