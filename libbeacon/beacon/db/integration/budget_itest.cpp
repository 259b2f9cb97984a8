// The budget stop (migrations/0009, budget_stop.sql) and the re-submit that
// lifts it, against a real Postgres: the batch whose answers spend the budget
// cancels the job's pending rows in its own transaction, with exact counters.
#include <pqxx/pqxx>

#include <beacon/core/errors.hpp>
#include <beacon/db/jobs_repo.hpp>
#include <beacon/db/progress_store.hpp>

#include "test_db.hpp"

namespace beacon::db::testing {
namespace {

const std::string kNow = "2026-01-01T00:00:00.000Z";

long cancelled_without_reason(pqxx::connection& c, const std::string& job_id, const std::string& reason) {
  pqxx::nontransaction t(c);
  return t.exec_params1("SELECT count(*) FROM executions WHERE job_id = $1 AND status = 'cancelled' "
                        "AND error->>'reason' IS DISTINCT FROM $2",
                        job_id, reason)[0]
      .as<long>();
}

// make_event's answers spend 30 tokens each (10 in, 20 out).
TEST_F(DbTest, ABatchThatSpendsTheBudgetStopsTheJobInItsTransaction) {
  JobSpec spec = spec72(unique_id("budget"));
  spec.budget = JobBudget{std::nullopt, 100};
  const Registration r = register_job(conn(), spec, kNow);
  ASSERT_EQ(r.enqueued, 72u);
  EXPECT_EQ(job_field(conn(), spec.job_id, "budget_max_tokens"), "100");
  const auto& m = r.to_enqueue;

  auto a = apply_events(conn(), {make_event(EventKind::completed, m[0].key), make_event(EventKind::completed, m[1].key),
                                 make_event(EventKind::completed, m[2].key)});
  EXPECT_TRUE(a.budget_stops.empty()) << "90 tokens of 100";
  EXPECT_EQ(job_field(conn(), spec.job_id, "stop_reason"), "");

  a = apply_events(conn(), {make_event(EventKind::started, m[3].key), make_event(EventKind::started, m[4].key),
                            make_event(EventKind::completed, m[5].key)});
  ASSERT_EQ(a.budget_stops.size(), 1u) << "120 tokens of 100";
  EXPECT_EQ(a.budget_stops[0].job_id, spec.job_id);
  EXPECT_EQ(a.budget_stops[0].submission, 1);
  EXPECT_EQ(a.budget_stops[0].tokens, 120);
  EXPECT_EQ(a.budget_stops[0].cancelled, 66u);
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{0, 2, 4, 0, 66})) << "the two running ones finish";
  EXPECT_EQ(job_counters(conn(), spec.job_id), row_counts(conn(), spec.job_id));
  EXPECT_EQ(group_counter_mismatches(conn(), spec.job_id), 0);
  EXPECT_EQ(job_field(conn(), spec.job_id, "status"), "cancelled");
  EXPECT_EQ(job_field(conn(), spec.job_id, "stop_reason"), "budget_exhausted");
  EXPECT_EQ(cancelled_without_reason(conn(), spec.job_id, "budget_exhausted"), 0);

  // What was on the wire lands (paid for); the job stays stopped, nothing stops twice.
  a = apply_events(conn(), {make_event(EventKind::completed, m[3].key)});
  EXPECT_TRUE(a.budget_stops.empty());
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{0, 1, 5, 0, 66}));
  EXPECT_EQ(job_field(conn(), spec.job_id, "status"), "cancelled");

  // The same budget again is spent: refused, nothing changes.
  try {
    register_job(conn(), spec, kNow);
    ADD_FAILURE() << "a re-submit with a spent budget was accepted";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.field(), "budget.max_tokens") << e.what();
  }
  EXPECT_EQ(job_field(conn(), spec.job_id, "submissions"), "1");
  EXPECT_EQ(job_field(conn(), spec.job_id, "stop_reason"), "budget_exhausted");

  // A higher budget resumes: the stop is lifted, what is not completed is enqueued.
  spec.budget = JobBudget{std::nullopt, 10'000};
  const Registration again = register_job(conn(), spec, kNow);
  EXPECT_EQ(again.submission, 2);
  EXPECT_EQ(again.skipped, 5u) << "completed ones are not paid again";
  EXPECT_EQ(again.enqueued, 67u) << "the 66 cancelled and the one still running";
  EXPECT_EQ(job_field(conn(), spec.job_id, "stop_reason"), "");
  EXPECT_EQ(job_field(conn(), spec.job_id, "budget_max_tokens"), "10000");
  EXPECT_EQ(job_field(conn(), spec.job_id, "status"), "running");
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{66, 1, 5, 0, 0}));
  EXPECT_EQ(job_counters(conn(), spec.job_id), row_counts(conn(), spec.job_id));
}

TEST_F(DbTest, AJobWithoutABudgetNeverStopsAndACostBudgetCountsCost) {
  JobSpec plain = spec72(unique_id("no-budget"));
  const Registration r = register_job(conn(), plain, kNow);
  std::vector<ResultEvent> all;
  for (const auto& m : r.to_enqueue) all.push_back(make_event(EventKind::completed, m.key));
  EXPECT_TRUE(apply_events(conn(), all).budget_stops.empty());
  EXPECT_EQ(job_field(conn(), plain.job_id, "status"), "completed");

  JobSpec priced = spec72(unique_id("cost-budget"));
  priced.budget = JobBudget{0.05, std::nullopt};
  const Registration p = register_job(conn(), priced, kNow);
  auto paid = [&](std::size_t i) {
    auto e = make_event(EventKind::completed, p.to_enqueue[i].key);
    e.cost_usd = 0.02;
    return e;
  };
  EXPECT_TRUE(apply_events(conn(), {paid(0), paid(1)}).budget_stops.empty()) << "$0.04 of $0.05";
  const auto a = apply_events(conn(), {paid(2)});
  ASSERT_EQ(a.budget_stops.size(), 1u) << "$0.06 of $0.05";
  EXPECT_NEAR(a.budget_stops[0].cost_usd, 0.06, 1e-9);
  EXPECT_EQ(row_counts(conn(), priced.job_id), (Counts{0, 0, 3, 0, 69}));
}

TEST_F(DbTest, ACancelSaysItsReason) {
  const JobSpec spec = spec72(unique_id("cancel-reason"));
  register_job(conn(), spec, kNow);
  ASSERT_TRUE(cancel_job(conn(), spec.job_id).has_value());
  EXPECT_EQ(job_field(conn(), spec.job_id, "stop_reason"), "cancel");
  EXPECT_EQ(cancelled_without_reason(conn(), spec.job_id, "cancel"), 0);
  register_job(conn(), spec, kNow);
  EXPECT_EQ(job_field(conn(), spec.job_id, "stop_reason"), "") << "a re-submit lifts the cancel";
}

}  // namespace
}  // namespace beacon::db::testing
