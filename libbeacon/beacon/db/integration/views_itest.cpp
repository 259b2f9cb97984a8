// The progress views and queries on a small fixed state, with exact numbers.
#include <pqxx/pqxx>

#include <beacon/core/json.hpp>

#include <beacon/db/jobs_repo.hpp>
#include <beacon/db/progress_queries.hpp>
#include <beacon/db/progress_store.hpp>

#include "test_db.hpp"

namespace beacon::db::testing {
namespace {

// 2 regions x 2 models x 2 questions = 8 executions, questions listed
// "zeta" before "alpha" so spec order differs from name order. Final state:
//   us/m1/zeta completed answered 100 ms   us/m1/alpha completed refused 300 ms
//   us/m2/zeta completed refused  200 ms   us/m2/alpha failed
//   eu/m1/zeta running                      eu/m1/alpha pending
//   eu/m2/zeta pending                      eu/m2/alpha pending
class ViewsTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (HasFatalFailure()) return;
    job_ = unique_id("views");
    register_job(conn(), make_spec(job_, {"us", "eu"}, {"m1", "m2"}, {"zeta", "alpha"}), "2026-01-01T00:00:00Z");
    apply_events(conn(), {done("us", "m1", "zeta", Classification::answered, 100),
                          done("us", "m1", "alpha", Classification::refused, 300),
                          done("us", "m2", "zeta", Classification::refused, 200),
                          make_event(EventKind::failed, key("us", "m2", "alpha")),
                          make_event(EventKind::started, key("eu", "m1", "zeta"))});
    // A known elapsed time: the job started 100 s ago.
    pqxx::nontransaction(conn()).exec_params("UPDATE jobs SET started_at = now() - interval '100 seconds' "
                                             "WHERE job_id = $1",
                                             job_);
  }
  ExecutionKey key(const std::string& r, const std::string& m, const std::string& q) {
    return ExecutionKey{job_, r, m, q, 0};
  }
  // p95_latency_ms of one group in a *_progress view (names come from the test, never from data).
  double view_p95(const std::string& view, const std::string& column, const std::string& group) {
    pqxx::nontransaction t(conn());
    return t.exec_params1("SELECT p95_latency_ms FROM " + conn().quote_name(view) + " WHERE job_id = $1 AND " +
                              conn().quote_name(column) + " = $2",
                          job_, group)[0].as<double>();
  }
  ResultEvent done(const std::string& r, const std::string& m, const std::string& q, Classification c,
                   double latency) {
    ResultEvent e = make_event(EventKind::completed, key(r, m, q));
    e.output->classification = c;
    e.receipt->latency_ms = latency;
    return e;
  }
  std::string job_;
};

TEST_F(ViewsTest, JobProgressFromTheCounters) {
  const auto p = load_job(conn(), job_);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->job_id, job_);
  EXPECT_EQ(p->status, "running");
  EXPECT_EQ(p->total, 8);
  EXPECT_EQ(p->pending, 3);
  EXPECT_EQ(p->running, 1);
  EXPECT_EQ(p->completed, 3);
  EXPECT_EQ(p->failed, 1);
  EXPECT_EQ(p->cancelled, 0);
  EXPECT_DOUBLE_EQ(p->percent, 50.0);
  EXPECT_EQ(p->submissions, 1);
  EXPECT_EQ(p->created_at, "2026-01-01T00:00:00.000Z");
  EXPECT_TRUE(p->started_at);
  EXPECT_FALSE(p->finished_at);
  EXPECT_FALSE(p->finished());
  // elapsed 100 s for 4 done (3 completed + 1 failed), 4 remaining -> 100 s.
  EXPECT_NEAR(p->elapsed_s, 100.0, 5.0);
  ASSERT_TRUE(p->eta_s);
  EXPECT_NEAR(*p->eta_s, p->elapsed_s, 0.001);

  EXPECT_FALSE(load_job(conn(), unique_id("nope")));
}

TEST_F(ViewsTest, EtaIsUnknownBeforeTheFirstFinishedExecutionAndZeroAtTheEnd) {
  const std::string other = unique_id("views-eta");
  const Registration r = register_job(conn(), make_spec(other, {"us"}, {"m1"}, {"q1", "q2"}), "2026-01-01T00:00:00Z");
  auto p = load_job(conn(), other);
  EXPECT_EQ(p->status, "queued");
  EXPECT_EQ(p->elapsed_s, 0.0);
  EXPECT_FALSE(p->eta_s);
  apply_events(conn(), {make_event(EventKind::started, r.to_enqueue[0].key)});
  p = load_job(conn(), other);
  EXPECT_EQ(p->status, "running");
  EXPECT_FALSE(p->eta_s);
  apply_events(conn(), {make_event(EventKind::completed, r.to_enqueue[0].key),
                        make_event(EventKind::completed, r.to_enqueue[1].key)});
  p = load_job(conn(), other);
  EXPECT_EQ(p->status, "completed");
  EXPECT_TRUE(p->finished());
  EXPECT_TRUE(p->finished_at);
  EXPECT_EQ(p->eta_s, 0.0);
}

TEST_F(ViewsTest, QuestionsInSpecOrderWithExactNumbers) {
  const auto g = load_groups(conn(), job_, Group::question);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].group, "zeta");
  EXPECT_EQ(g[0].total, 4);
  EXPECT_EQ(g[0].completed, 2);
  EXPECT_EQ(g[0].running, 1);
  EXPECT_EQ(g[0].pending, 1);
  EXPECT_EQ(g[0].failed, 0);
  EXPECT_EQ(g[0].refused, 1);
  EXPECT_DOUBLE_EQ(g[0].percent, 50.0);
  EXPECT_DOUBLE_EQ(*g[0].mean_latency_ms, 150.0);
  // Percentiles need the rows: the view has them, the counters do not.
  EXPECT_FALSE(g[0].p95_latency_ms);
  EXPECT_DOUBLE_EQ(view_p95("question_progress", "question_id", "zeta"), 195.0);  // 100 + 0.95 * (200 - 100)

  EXPECT_EQ(g[1].group, "alpha");
  EXPECT_EQ(g[1].total, 4);
  EXPECT_EQ(g[1].completed, 1);
  EXPECT_EQ(g[1].failed, 1);
  EXPECT_EQ(g[1].pending, 2);
  EXPECT_EQ(g[1].refused, 1);
  EXPECT_DOUBLE_EQ(g[1].percent, 50.0);
  EXPECT_DOUBLE_EQ(*g[1].mean_latency_ms, 300.0);
  EXPECT_DOUBLE_EQ(view_p95("question_progress", "question_id", "alpha"), 300.0);
}

TEST_F(ViewsTest, RegionsAndModelsByName) {
  const auto regions = load_groups(conn(), job_, Group::region);
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_EQ(regions[0].group, "eu");
  EXPECT_EQ(regions[0].total, 4);
  EXPECT_EQ(regions[0].pending, 3);
  EXPECT_EQ(regions[0].running, 1);
  EXPECT_DOUBLE_EQ(regions[0].percent, 0.0);
  EXPECT_FALSE(regions[0].mean_latency_ms);
  EXPECT_FALSE(regions[0].p95_latency_ms);
  EXPECT_EQ(regions[1].group, "us");
  EXPECT_EQ(regions[1].completed, 3);
  EXPECT_EQ(regions[1].failed, 1);
  EXPECT_EQ(regions[1].refused, 2);
  EXPECT_DOUBLE_EQ(regions[1].percent, 100.0);
  EXPECT_DOUBLE_EQ(*regions[1].mean_latency_ms, 200.0);
  EXPECT_DOUBLE_EQ(view_p95("region_progress", "region", "us"), 290.0);  // 200 + 0.9 * (300 - 200)

  const auto models = load_groups(conn(), job_, Group::model);
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].group, "m1");
  EXPECT_EQ(models[0].completed, 2);
  EXPECT_EQ(models[0].running, 1);
  EXPECT_EQ(models[0].pending, 1);
  EXPECT_EQ(models[0].refused, 1);
  EXPECT_DOUBLE_EQ(models[0].percent, 50.0);
  EXPECT_EQ(models[1].group, "m2");
  EXPECT_EQ(models[1].completed, 1);
  EXPECT_EQ(models[1].failed, 1);
  EXPECT_EQ(models[1].pending, 2);
  EXPECT_DOUBLE_EQ(models[1].percent, 50.0);

  EXPECT_TRUE(load_groups(conn(), unique_id("nope"), Group::model).empty());
}

TEST_F(ViewsTest, ExecutionMatrixHasOneCellPerExecution) {
  pqxx::nontransaction t(conn());
  const auto r = t.exec_params(
      "SELECT question_id, model_id, region, status, classification FROM execution_matrix WHERE job_id = $1 "
      "ORDER BY question_ord, model_id, region",
      job_);
  ASSERT_EQ(r.size(), 8u);
  EXPECT_EQ(r[0][0].as<std::string>(), "zeta");
  EXPECT_EQ(r[0][2].as<std::string>(), "eu");
  EXPECT_EQ(r[0][3].as<std::string>(), "running");
  EXPECT_TRUE(r[0][4].is_null());
  EXPECT_EQ(r[1][2].as<std::string>(), "us");
  EXPECT_EQ(r[1][4].as<std::string>(), "answered");
}

TEST_F(ViewsTest, ForEachExecutionStreamsEveryRowInKeyOrderAcrossPages) {
  std::vector<ExecutionRow> rows;
  const std::size_t n = for_each_execution(conn(), job_, [&](const ExecutionRow& r) { rows.push_back(r); }, 3);
  ASSERT_EQ(n, 8u);
  ASSERT_EQ(rows.size(), 8u);
  for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_LT(rows[i - 1].key, rows[i].key);
  // Key order: eu before us, m1 before m2, alpha before zeta.
  const ExecutionRow& first = rows[0];
  EXPECT_EQ(first.key, key("eu", "m1", "alpha"));
  EXPECT_EQ(first.status, ExecStatus::pending);
  EXPECT_EQ(first.attempts, 0);
  EXPECT_FALSE(first.output_json);
  EXPECT_FALSE(first.started_at);
  EXPECT_FALSE(first.updated_at.empty());

  const ExecutionRow& refused = rows[4];  // us/m1/alpha
  EXPECT_EQ(refused.key, key("us", "m1", "alpha"));
  EXPECT_EQ(refused.status, ExecStatus::completed);
  EXPECT_EQ(refused.classification, Classification::refused);
  EXPECT_EQ(refused.latency_ms, 300.0);
  EXPECT_EQ(refused.prompt_tokens, 10);
  EXPECT_EQ(refused.completion_tokens, 20);
  EXPECT_EQ(refused.started_at, "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(refused.completed_at, "2026-01-01T00:00:01.000Z");
  ASSERT_TRUE(refused.output_json);
  json::Document out = json::parse(*refused.output_json);
  EXPECT_STREQ(out["text"].GetString(), "answer to alpha");
  EXPECT_STREQ(out["classification"].GetString(), "refused");
  EXPECT_EQ(out["usage"]["prompt_tokens"].GetInt(), 10);
  ASSERT_TRUE(refused.receipt_json);
  EXPECT_EQ(json::parse(*refused.receipt_json)["http_status"].GetInt(), 200);

  const ExecutionRow& failed = rows[6];  // us/m2/alpha
  EXPECT_EQ(failed.status, ExecStatus::failed);
  ASSERT_TRUE(failed.error_json);
  EXPECT_STREQ(json::parse(*failed.error_json)["kind"].GetString(), "http");

  EXPECT_EQ(for_each_execution(conn(), unique_id("nope"), [](const ExecutionRow&) { FAIL(); }), 0u);
  // An exact multiple of the page size ends cleanly too.
  EXPECT_EQ(for_each_execution(conn(), job_, [](const ExecutionRow&) {}, 4), 8u);
}

}  // namespace
}  // namespace beacon::db::testing
