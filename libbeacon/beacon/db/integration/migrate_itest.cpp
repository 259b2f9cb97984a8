// Migrations against a real Postgres, each test in a fresh schema of its own.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include <pqxx/pqxx>

#include <beacon/core/state_machine.hpp>
#include <beacon/db/migrate.hpp>

#include "paths.hpp"
#include "test_db.hpp"

namespace beacon::db::testing {
namespace {

namespace fs = std::filesystem;

const fs::path kMigrations = fs::path(beacon::test::source_dir()) / "migrations";

// A schema that exists for one test; connections made by connect_to_it() see
// only it (search_path), so the migrations run as on an empty database.
class FreshSchema : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (HasFatalFailure()) return;
    schema_ = unique_id("migtest");
    std::replace(schema_.begin(), schema_.end(), '-', '_');
    pqxx::nontransaction(conn()).exec("CREATE SCHEMA " + conn().quote_name(schema_));
  }
  void TearDown() override {
    if (!schema_.empty() && conn_) pqxx::nontransaction(conn()).exec("DROP SCHEMA " + conn().quote_name(schema_) + " CASCADE");
  }
  std::unique_ptr<pqxx::connection> connect_to_it() {
    auto c = open_connection();
    c->set_variable("search_path", c->quote_name(schema_));
    return c;
  }
  std::string schema_;
};

TEST_F(FreshSchema, AppliesEveryMigrationOnceThenNothing) {
  auto c = connect_to_it();
  const int files = static_cast<int>(list_migrations(kMigrations).size());
  ASSERT_GE(files, 2);
  EXPECT_EQ(apply_migrations(*c, kMigrations), files);
  EXPECT_EQ(apply_migrations(*c, kMigrations), 0);

  pqxx::nontransaction t(*c);
  EXPECT_EQ(t.exec("SELECT count(*) FROM schema_migrations")[0][0].as<int>(), files);
  EXPECT_EQ(t.exec_params("SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND "
                          "table_name IN ('jobs', 'executions', 'schema_migrations', 'job_progress', "
                          "'question_progress', 'region_progress', 'model_progress', 'execution_matrix')",
                          schema_)[0][0]
                .as<int>(),
            8);
}

TEST_F(FreshSchema, TwoMigratorsAtOnceBothSucceedAndApplyEachFileOnce) {
  const int files = static_cast<int>(list_migrations(kMigrations).size());
  auto a = connect_to_it();
  auto b = connect_to_it();
  std::atomic<int> applied{0};
  std::vector<std::string> errors(2);
  auto run = [&](pqxx::connection& c, std::string& error) {
    try {
      applied += apply_migrations(c, kMigrations);
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  std::thread ta(run, std::ref(*a), std::ref(errors[0]));
  std::thread tb(run, std::ref(*b), std::ref(errors[1]));
  ta.join();
  tb.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  EXPECT_EQ(applied.load(), files);
  pqxx::nontransaction t(*a);
  EXPECT_EQ(t.exec("SELECT count(DISTINCT version) FROM schema_migrations")[0][0].as<int>(), files);
}

TEST_F(FreshSchema, FailingMigrationIsNotRecordedAndEarlierOnesStay) {
  const fs::path dir = fs::temp_directory_path() / unique_id("beacon-migrations");
  fs::create_directories(dir);
  std::ofstream(dir / "0001_ok.sql") << "CREATE TABLE ok_table (id integer);";
  std::ofstream(dir / "0002_bad.sql") << "CREATE TABLE bad_table (id integer); SELECT no_such_column FROM ok_table;";
  auto c = connect_to_it();
  EXPECT_THROW(apply_migrations(*c, dir), pqxx::sql_error);
  pqxx::nontransaction t(*c);
  EXPECT_EQ(t.exec("SELECT string_agg(version, ',') FROM schema_migrations")[0][0].as<std::string>(), "0001_ok");
  EXPECT_TRUE(t.exec("SELECT to_regclass('bad_table')")[0][0].is_null());  // rolled back with its file
  fs::remove_all(dir);
}

TEST_F(DbTest, SqlTransitionTableEqualsTheCppOne) {
  const ExecStatus all[] = {ExecStatus::pending, ExecStatus::running, ExecStatus::completed, ExecStatus::failed,
                            ExecStatus::cancelled};
  pqxx::nontransaction t(conn());
  for (ExecStatus from : all)
    for (ExecStatus to : all) {
      const bool sql = t.exec_params1("SELECT beacon_transition_allowed($1, $2)", std::string(to_string(from)),
                                      std::string(to_string(to)))[0]
                           .as<bool>();
      EXPECT_EQ(sql, transition_allowed(from, to)) << to_string(from) << " -> " << to_string(to);
    }
}

}  // namespace
}  // namespace beacon::db::testing
