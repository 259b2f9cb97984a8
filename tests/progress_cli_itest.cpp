// What an operator reads: status (text, JSON, by region, matrix, watch,
// stalled), report and export, on a fixed database state; and cancel in the
// middle of a running job, counted at the endpoint.
#include <regex>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <beacon/amqp/client.hpp>
#include <beacon/amqp/topology.hpp>
#include <beacon/core/clock.hpp>
#include <beacon/core/spec.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/jobs_repo.hpp>
#include <beacon/db/progress_store.hpp>

#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

ResultEvent completed(const ExecutionKey& k, Classification c, const std::string& text, double latency_ms) {
  ResultEvent e;
  e.event = EventKind::completed;
  e.key = k;
  e.worker_id = "w";
  e.output = Output{text, c, "stop", 5, 7};
  e.receipt = Receipt{"http://sim/v1", "id", 200, latency_ms, ""};
  return e;
}

// A finished 2 regions × 1 model × 2 questions job with known answers and a
// known 90-second run, written straight through the database layer.
std::string fixed_job(pqxx::connection& c) {
  auto id = "fixed-" + unique_suffix();
  auto spec = parse_job_spec(R"({"models":["m1"],"regions":["eu","us"],"questions":[)"
                             R"({"id":"q_b","prompt":"B?"},{"id":"q_a","prompt":"A?"}]})");
  spec.job_id = id;
  // Registered now, so it heads the recent-jobs list however many jobs the database already has.
  db::register_job(c, spec, now_rfc3339());
  db::apply_events(c, {completed({id, "eu", "m1", "q_b", 0}, Classification::answered, "red green blue", 100),
                       completed({id, "us", "m1", "q_b", 0}, Classification::answered, "red green", 300),
                       completed({id, "eu", "m1", "q_a", 0}, Classification::refused, "I can't discuss that", 200)});
  ResultEvent failed;
  failed.event = EventKind::failed;
  failed.key = {id, "us", "m1", "q_a", 0};
  failed.error = ErrorInfo{ErrorKind::http, "HTTP 400: bad request"};
  db::apply_events(c, {failed});
  pqxx::work w(c);
  w.exec_params("UPDATE jobs SET started_at = finished_at - interval '90 seconds' WHERE job_id = $1", id);
  w.commit();
  return id;
}

}  // namespace

TEST(ProgressCli, StatusReportAndExportOnAFixedState) {
  Fleet f("cli-fixed");
  auto conn = db::connect(require_env("BEACON_DATABASE_URL"));
  auto id = fixed_job(*conn);

  auto status = f.producer({"status", id});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.out,
            "job " + id + " · failed · 4/4 (100.0%)\n"
            "completed 3 · failed 1 · running 0 · pending 0 · cancelled 0 · refused 1\n"
            "elapsed 1m30s · ETA 0s\n"
            "tokens 15 in · 21 out\n"  // the completed rows' usage; no price, so no cost
            "questions:\n"
            "├─ q_b: 2/2 ✅\n"
            "└─ q_a: 2/2 ❌ (1 failed) (1 refused)\n");

  auto by_region = f.producer({"status", id, "--by", "region"});
  EXPECT_NE(by_region.out.find("regions:\n├─ eu: 2/2 ✅ (1 refused)\n└─ us: 2/2 ❌ (1 failed)\n"), std::string::npos)
      << by_region.out;

  auto matrix = f.producer({"status", id, "--matrix"});
  EXPECT_EQ(matrix.out,
            "question  model  eu  us\n"
            "q_b       m1     ✓   ✓ \n"
            "q_a       m1     R   ✗ \n"
            "✓ answered · R refused · ✗ failed · … running · · pending · - cancelled\n");

  auto js = f.producer({"status", id, "--json"});
  rapidjson::Document d;
  d.Parse(js.out.c_str());
  ASSERT_FALSE(d.HasParseError()) << js.out;
  for (const char* k : {"job_id", "status", "total", "pending", "running", "completed", "failed", "cancelled",
                        "refused", "done", "percent", "created_at", "elapsed_s", "eta_s", "stalled", "questions",
                        "prompt_tokens", "completion_tokens", "cost_usd"})
    EXPECT_TRUE(d.HasMember(k)) << "status --json lacks " << k << ": " << js.out;
  EXPECT_EQ(d["completed"].GetInt(), 3);
  EXPECT_EQ(d["questions"].Size(), 2u);
  EXPECT_STREQ(d["questions"][0]["id"].GetString(), "q_b");

  auto report = f.producer({"report", id});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("q_b · 2/2 completed\n"
                            "  refusal by region: eu 0/1 (0%) · us 0/1 (0%)\n"
                            "  refusal by model:  m1 0/2 (0%)\n"
                            "  answer words:      mean 2.5 · eu 3.0 · us 2.0\n"
                            "  region divergence: 0.33 (1 model/sample groups)\n"),
            std::string::npos)
      << report.out;
  EXPECT_NE(report.out.find("q_a · 1/2 completed\n  refusal by region: eu 1/1 (100%)\n"), std::string::npos)
      << report.out;
  EXPECT_EQ(f.producer({"report", id, "--json"}).exit_code, 0);

  auto all = f.producer({"export", id});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  int lines = 0;
  std::istringstream in(all.out);
  for (std::string line; std::getline(in, line); ++lines) {
    rapidjson::Document row;
    row.Parse(line.c_str());
    ASSERT_FALSE(row.HasParseError()) << line;
    for (const char* k : {"job_id", "region", "model_id", "question_id", "sample", "status", "classification",
                          "text", "latency_ms", "prompt_tokens", "completion_tokens", "error"})
      EXPECT_TRUE(row.HasMember(k)) << "export lacks " << k << ": " << line;
  }
  EXPECT_EQ(lines, 4) << "one line per execution";
  auto only_failed = f.producer({"export", id, "--status", "failed"});
  EXPECT_EQ(std::count(only_failed.out.begin(), only_failed.out.end(), '\n'), 1);
  EXPECT_NE(only_failed.out.find("HTTP 400: bad request"), std::string::npos) << only_failed.out;

  // Without a job: the recent jobs, ours among them.
  auto recent = f.producer({"status", "--limit", "50"});
  EXPECT_NE(recent.out.find(id + "  failed  4/4 (100.0%)  failed 1"), std::string::npos) << recent.out;

  // --watch on a pipe: plain lines, no escape codes, ends with the table.
  auto watch = f.producer({"status", id, "--watch"}, 30s);
  EXPECT_EQ(watch.exit_code, 0);
  EXPECT_EQ(watch.out.find('\033'), std::string::npos) << "escape codes on a pipe";
  EXPECT_NE(watch.out.find("└─ q_a: 2/2 ❌"), std::string::npos) << watch.out;

  for (const char* cmd : {"status", "report", "export", "cancel"})
    EXPECT_EQ(f.producer({cmd, "no-such-job-" + unique_suffix()}).exit_code, 2) << cmd;
}

TEST(ProgressCli, WatchFollowsARunningJobAndStalledIsFlagged) {
  Fleet f("cli-watch");
  auto region = "watch-" + unique_suffix();
  f.start_sim({"--latency-ms", "300"});
  f.write_endpoints({region});
  auto id = "watch-" + unique_suffix();
  auto spec = R"({"models":["m1","m2"],"regions":[")" + region + R"("],"questions":["math_basic","geography_basic"]})";
  // No worker yet: nothing finishes, so a 1-second threshold flags it.
  ASSERT_EQ(f.submit(spec, id).exit_code, 0);
  std::string out;
  ASSERT_TRUE(eventually(
      [&] {
        out = f.producer({"status", id, "--stall-after-s", "1"}).out;
        return out.find("⚠ stalled") != std::string::npos;
      },
      15s))
      << out;
  f.start_writer();
  f.start_worker(region, {"--concurrency", "1"});
  auto watch = f.producer({"status", id, "--watch"}, 60s);
  EXPECT_EQ(watch.exit_code, 0) << watch.err;
  EXPECT_NE(watch.out.find(id + " running"), std::string::npos) << "progress lines while running:\n" << watch.out;
  EXPECT_NE(watch.out.find("· completed · 4/4 (100.0%)"), std::string::npos) << watch.out;
  EXPECT_EQ(f.producer({"status", id, "--stall-after-s", "1"}).out.find("stalled"), std::string::npos)
      << "a finished job is never stalled";
}

TEST(ProgressCli, CancelMidJobStopsEndpointCallsAndLeavesExactCounters) {
  Fleet f("cli-cancel");
  auto region = "cancel-" + unique_suffix();
  f.start_sim({"--latency-ms", "400"});
  f.write_endpoints({region});
  f.start_writer();
  auto& worker = f.start_worker(region, {"--concurrency", "2", "--metrics-addr", "127.0.0.1:0"});
  auto id = "cancel-" + unique_suffix();
  auto spec = R"({"models":["m1","m2","m3","m4","m5"],"regions":[")" + region + R"("],"samples":8})";
  ASSERT_EQ(f.submit(spec, id).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return f.job(id)->completed >= 2; }, 30s)) << f.logs_tail();

  auto cancel = f.producer({"cancel", id});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.err;
  long at_cancel = f.sim_requests();

  // The queue drains without the endpoint: the worker turns each queued
  // message into a `cancelled` event.
  amqp::Client broker(amqp::ClientOptions{require_env("BEACON_AMQP_URL"), "cancel-test"});
  broker.connect();
  ASSERT_TRUE(eventually([&] { return broker.queue_message_count(amqp::exec_queue(region)) == 0; }, 60s))
      << f.logs_tail();
  ASSERT_TRUE(eventually(
      [&] {
        auto e = f.executions(id);
        return e.pending == 0 && e.running == 0;
      },
      60s))
      << "every execution ends terminal\n" << f.logs_tail();
  long after = f.sim_requests();
  EXPECT_LE(after - at_cancel, 2) << "only the requests already in flight (concurrency 2) may reach the endpoint";

  auto j = f.job(id).value();
  auto e = f.executions(id);
  EXPECT_EQ(j.status, "cancelled");
  EXPECT_EQ(e.rows, 40);
  EXPECT_EQ(j.completed, e.completed);
  EXPECT_EQ(j.failed, e.failed);
  EXPECT_EQ(j.cancelled, e.cancelled);
  EXPECT_EQ(e.completed + e.failed + e.cancelled, 40);
  EXPECT_GE(e.cancelled, 30);
  EXPECT_EQ(after, e.completed + e.failed) << "one endpoint call per execution that ran";

  // The worker's metrics moved while it ran.
  std::smatch m;
  std::regex re("metrics on [0-9.]+:([0-9]+)");
  auto log = worker.output();
  ASSERT_TRUE(std::regex_search(log, m, re)) << log;
  auto metrics = Fleet::http_get("127.0.0.1", std::stoi(m[1]), "/metrics");
  EXPECT_GE(metric_value(metrics, "beacon_worker_messages_consumed_total"), 40) << metrics;
  EXPECT_GE(metric_value(metrics, "beacon_worker_messages_acked_total"), 40) << metrics;
  EXPECT_GE(metric_value(metrics, "beacon_worker_executions_completed_total"), 2) << metrics;
}

}  // namespace beacon::test
