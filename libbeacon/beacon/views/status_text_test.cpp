#include <beacon/views/status_text.hpp>

#include <gtest/gtest.h>

namespace beacon::views {
namespace {

Counts counts(long total, long completed, long failed, long running, long refused = 0) {
  Counts c;
  c.total = total;
  c.completed = completed;
  c.failed = failed;
  c.running = running;
  c.refused = refused;
  c.pending = total - completed - failed - running;
  return c;
}

}  // namespace

TEST(StatusText, ExactTextForAFixedState) {
  JobSummary job;
  job.job_id = "bias-2026-11-23";
  job.status = "running";
  job.counts = counts(27, 16, 1, 2, 3);
  job.elapsed_s = 72;
  job.eta_s = 24;
  std::vector<GroupRow> groups = {
      {"math_basic", counts(9, 9, 0, 0), std::nullopt, std::nullopt, Spend{}},
      {"taiwan_status", counts(9, 6, 0, 2, 3), std::nullopt, std::nullopt, Spend{}},
      {"tiananmen_neutral", counts(9, 1, 1, 0), std::nullopt, std::nullopt, Spend{}},
  };
  groups.push_back({"greatest_leader", counts(9, 0, 0, 0), std::nullopt, std::nullopt, Spend{}});
  EXPECT_EQ(render_status(job, groups, "questions"),
            "job bias-2026-11-23 · running · 17/27 (63.0%)\n"
            "completed 16 · failed 1 · running 2 · pending 8 · cancelled 0 · refused 3\n"
            "elapsed 1m12s · ETA 24s\n"
            "questions:\n"
            "├─ math_basic: 9/9 ✅\n"
            "├─ taiwan_status: 6/9 ⏳ (3 refused)\n"
            "├─ tiananmen_neutral: 2/9 ⏳ (1 failed)\n"
            "└─ greatest_leader: 0/9 ⏸️\n");
}

TEST(StatusText, MarksAndDurations) {
  EXPECT_EQ(group_mark(counts(3, 2, 1, 0)), "❌");
  EXPECT_EQ(group_mark(counts(3, 3, 0, 0)), "✅");
  Counts stopped = counts(3, 1, 0, 0);
  stopped.cancelled = 2;  // a cancel or a budget stop ended the rest: done, not answered
  EXPECT_EQ(group_mark(stopped), "⏹️");
  stopped.failed = 1, stopped.cancelled = 1;
  EXPECT_EQ(group_mark(stopped), "❌") << "a failure outranks a stop";
  EXPECT_EQ(group_mark(counts(3, 0, 0, 1)), "⏳");
  EXPECT_EQ(group_mark(counts(3, 0, 0, 0)), "⏸️");
  EXPECT_EQ(format_duration(45), "45s");
  EXPECT_EQ(format_duration(3 * 3600 + 5 * 60), "3h05m");
}

TEST(StatusText, StalledWarningAndUnknownEta) {
  JobSummary job;
  job.job_id = "j";
  job.status = "running";
  job.counts = counts(4, 1, 0, 0);
  job.elapsed_s = 600;
  job.stalled = true;
  job.stalled_for_s = 300;
  EXPECT_EQ(render_status(job, {}, "questions"),
            "job j · running · 1/4 (25.0%)\n"
            "completed 1 · failed 0 · running 0 · pending 3 · cancelled 0 · refused 0\n"
            "elapsed 10m00s · ETA unknown\n"
            "⚠ stalled: no execution finished for 5m00s while work remains\n");
}

TEST(StatusText, JsonHasTheDocumentedFields) {
  JobSummary job;
  job.job_id = "j";
  job.status = "completed";
  job.counts = counts(2, 2, 0, 0);
  job.created_at = "2026-11-23T10:00:00.000Z";
  std::vector<GroupRow> groups = {{"q", counts(2, 2, 0, 0), 12.5, 20.0, Spend{}}};
  EXPECT_EQ(render_status_json(job, groups, "questions"),
            R"({"job_id":"j","status":"completed","total":2,"pending":0,"running":0,"completed":2,"failed":0,)"
            R"("cancelled":0,"refused":0,"done":2,"percent":100.0,"created_at":"2026-11-23T10:00:00.000Z",)"
            R"("elapsed_s":0.0,"eta_s":null,"stalled":false,"prompt_tokens":0,"completion_tokens":0,)"
            R"("cost_usd":null,"stop_reason":null,"questions":[{"id":"q","total":2,"pending":0,)"
            R"("running":0,"completed":2,"failed":0,"cancelled":0,"refused":0,"done":2,"percent":100.0,)"
            R"("mean_latency_ms":12.5,"p95_latency_ms":20.0,"prompt_tokens":0,"completion_tokens":0,)"
            R"("cost_usd":null}]})"
            "\n");
}

// Issue 10, reuse: copied answers are completed executions, and status says
// how many of them were copied instead of paid.
TEST(StatusText, SaysHowManyCompletedWereReused) {
  JobSummary job;
  job.job_id = "j";
  job.status = "completed";
  job.counts = counts(6, 6, 0, 0);
  EXPECT_EQ(render_status(job, {}, "questions").find("reused"), std::string::npos) << "nothing reused: no line";
  job.reused = 6;
  auto text = render_status(job, {}, "questions");
  EXPECT_NE(text.find("completed 6 ·"), std::string::npos) << text;
  EXPECT_NE(text.find("reused 6 of the completed (answers copied from earlier jobs, not paid)\n"), std::string::npos)
      << text;
  EXPECT_NE(render_status_json(job, {}, "questions").find(R"("reused":6)"), std::string::npos);
}

TEST(StatusText, TokensAndCostOfTheJobAndEachGroup) {
  JobSummary job;
  job.job_id = "j";
  job.status = "completed";
  job.counts = counts(2, 2, 0, 0);
  GroupRow priced{"us-east", counts(1, 1, 0, 0), std::nullopt, std::nullopt, Spend{100, 50, 0.00123}};
  GroupRow unpriced{"eu-west", counts(1, 1, 0, 0), std::nullopt, std::nullopt, Spend{10, 5, std::nullopt}};
  job.spend.add(priced.spend);
  job.spend.add(unpriced.spend);
  EXPECT_EQ(job.spend.prompt_tokens, 110);
  EXPECT_EQ(job.spend.cost_usd, 0.00123);
  auto text = render_status(job, {priced, unpriced}, "regions");
  EXPECT_NE(text.find("tokens 110 in · 55 out · cost $0.0012\n"), std::string::npos) << text;
  EXPECT_NE(text.find("us-east: 1/1 ✅ · $0.0012\n"), std::string::npos) << text;
  EXPECT_NE(text.find("eu-west: 1/1 ✅\n"), std::string::npos) << "an unpriced group shows no cost\n" << text;
  EXPECT_EQ(format_usd(1234.5), "$1234.50");
}

// Issue 10, budgets: the budget and what was spent while one is set, and
// why the job stopped once it did.
TEST(StatusText, BudgetAndWhyTheJobStopped) {
  JobSummary job;
  job.job_id = "j";
  job.status = "cancelled";
  job.counts = counts(10, 3, 0, 0);
  job.counts.cancelled = 7;
  job.counts.pending = 0;
  job.spend = Spend{300, 600, 0.9};
  job.budget = JobBudget{0.75, 5000};
  job.stop_reason = CancelReason::budget_exhausted;
  auto text = render_status(job, {}, "questions");
  EXPECT_NE(text.find("budget $0.7500 (spent $0.9000) · 5000 tokens (spent 900)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("stopped: budget exhausted"), std::string::npos) << text;
  auto json = render_status_json(job, {}, "questions");
  EXPECT_NE(json.find(R"("stop_reason":"budget_exhausted","budget":{"max_cost_usd":0.75,"max_tokens":5000})"),
            std::string::npos)
      << json;
  job.budget.reset();
  job.stop_reason = CancelReason::cancel;
  text = render_status(job, {}, "questions");
  EXPECT_EQ(text.find("budget"), std::string::npos) << text;
  EXPECT_NE(text.find("stopped: cancelled"), std::string::npos) << text;
  EXPECT_NE(render_status_json(job, {}, "questions").find(R"("stop_reason":"cancel")"), std::string::npos);
}

TEST(StatusText, MatrixMarksEachCell) {
  std::vector<MatrixCell> cells = {
      {"math_basic", "m1", "eu-west", "completed", "answered"},
      {"math_basic", "m1", "us-east", "completed", "refused"},
      {"taiwan_status", "m1", "eu-west", "failed", ""},
      {"taiwan_status", "m1", "us-east", "pending", ""},
  };
  EXPECT_EQ(render_matrix(cells),
            "question       model  eu-west  us-east\n"
            "math_basic     m1     ✓        R      \n"
            "taiwan_status  m1     ✗        ·      \n"
            "✓ answered · R refused · ✗ failed · … running · · pending · - cancelled\n");
}

}  // namespace beacon::views
