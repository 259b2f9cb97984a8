#pragma once
// Shared set-up of the db integration tests: a real Postgres named by
// BEACON_DATABASE_URL (the tests FAIL, never skip, without it), the
// repository's migrations applied, a unique job id per test, and helpers that
// build specs and events and read the ground truth back.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <pqxx/connection>

#include <beacon/core/messages.hpp>
#include <beacon/core/spec.hpp>

namespace beacon::db::testing {

// BEACON_DATABASE_URL, or "" after recording a test failure that says how to set it.
std::string database_url();

// A new connection to the test database (throws when it cannot connect).
std::unique_ptr<pqxx::connection> open_connection();

// "<prefix>-<random>": ids no other test (or earlier run) uses.
std::string unique_id(const std::string& prefix);

// regions x models x questions (bank-free: prompts are "prompt of <id>") x samples.
JobSpec make_spec(const std::string& job_id, std::vector<std::string> regions, std::vector<std::string> models,
                  const std::vector<std::string>& questions, int samples = 1);
// 3 regions x 3 models x 8 questions = 72 executions.
JobSpec spec72(const std::string& job_id);

ResultEvent make_event(EventKind kind, const ExecutionKey& key, int attempt = 1);

struct Counts {
  long pending = 0, running = 0, completed = 0, failed = 0, cancelled = 0;
  bool operator==(const Counts&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Counts& c);

// Counted from the executions rows (the truth).
Counts row_counts(pqxx::connection& c, const std::string& job_id);
// The job's maintained counters (pending = total - the rest).
Counts job_counters(pqxx::connection& c, const std::string& job_id);
// Group counters (job_group_counts, maintained by triggers) that differ from
// a recount of the job's rows; 0 when every question/region/model is exact.
long group_counter_mismatches(pqxx::connection& c, const std::string& job_id);
// One column of the job row, as text ("" for NULL).
std::string job_field(pqxx::connection& c, const std::string& job_id, const std::string& column);
// Status of one execution row ("" when there is none).
std::string row_status(pqxx::connection& c, const ExecutionKey& key);

// Connects and applies the migrations once per process; gives each test a connection.
class DbTest : public ::testing::Test {
 protected:
  void SetUp() override;
  pqxx::connection& conn() { return *conn_; }

  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace beacon::db::testing
