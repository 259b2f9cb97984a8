// The walking skeleton end to end: real producer, workers, progress-writer
// and infer-sim against the real RabbitMQ and Postgres of scripts/test.sh.
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include <beacon/amqp/client.hpp>
#include <beacon/amqp/topology.hpp>
#include <beacon/core/messages.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

void publish_events(const std::vector<ResultEvent>& events) {
  amqp::Client client(amqp::ClientOptions{require_env("BEACON_AMQP_URL"), "e2e-test"});
  client.connect();
  for (const auto& e : events) client.publish(std::string(amqp::kResultsExchange), std::string(amqp::kResultsRoutingKey), encode(e));
  for (const auto& c : client.wait_for_confirms(std::chrono::steady_clock::now() + 30s))
    ASSERT_TRUE(c.ok) << c.reason;
  client.close();
}

}  // namespace

TEST(EndToEnd, BeaconJobRecordsEveryExecutionExactlyOnce) {
  Fleet f("e2e-beacon");
  f.start_sim({"--latency-ms", "20", "--jitter-ms", "10"});
  std::vector<std::string> regions{"us-east", "eu-west", "asia-pacific"};
  f.write_endpoints(regions);
  auto& writer = f.start_writer({"--metrics-addr", "127.0.0.1:0"});
  for (const auto& r : regions) f.start_worker(r, {"--concurrency", "8"});
  auto spec = read_text(source_dir() + "/examples/beacon-job.json");
  auto job = "e2e-" + unique_suffix();

  auto s = f.submit(spec, job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.job_id, job);
  EXPECT_EQ(s.total, 72);
  EXPECT_EQ(s.enqueued, 72);
  EXPECT_EQ(s.skipped, 0);

  ASSERT_TRUE(f.wait_finished(job, 120s)) << "job did not finish\n" << f.logs_tail();
  auto j = f.job(job).value();
  auto e = f.executions(job);
  EXPECT_EQ(e.rows, 72);
  EXPECT_EQ(e.distinct_keys, 72);
  EXPECT_EQ(e.completed, 72);
  EXPECT_EQ(j.status, "completed");
  EXPECT_EQ(j.total, 72);
  EXPECT_EQ(j.completed, e.completed);
  EXPECT_EQ(j.failed, e.failed);
  EXPECT_EQ(j.cancelled, e.cancelled);
  EXPECT_DOUBLE_EQ(j.progress, 100.0);
  EXPECT_TRUE(j.finished_at_set);
  EXPECT_EQ(f.sim_requests(), 72) << "every execution reaches the GPU exactly once";

  auto status = f.producer({"status", job});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("72/72 (100.0%)"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("math_basic: 9/9 ✅"), std::string::npos) << status.out;

  // A completed event delivered twice more, and a started arriving late,
  // change nothing: not the row, not a counter.
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  std::string text_before;
  {
    pqxx::read_transaction tx(c);
    text_before = tx.exec_params1("SELECT output::text FROM executions WHERE job_id=$1 AND region='eu-west' "
                                  "AND model_id='mistral-7b' AND question_id='math_basic' AND sample=0",
                                  job)[0].as<std::string>();
  }
  int port = logged_metrics_port(writer);
  ASSERT_NE(port, 0) << writer.output();
  double ignored_before = scrape(port, "beacon_writer_events_ignored_total");
  ResultEvent dup;
  dup.event = EventKind::completed;
  dup.key = ExecutionKey{job, "eu-west", "mistral-7b", "math_basic", 0};
  dup.worker_id = "replayer";
  dup.output = Output{"a different answer", Classification::answered, "stop", 1, 1};
  ResultEvent late = dup;
  late.event = EventKind::started;
  late.output.reset();
  publish_events({dup, dup, late});
  ASSERT_TRUE(eventually([&] { return try_scrape(port, "beacon_writer_events_ignored_total") >= ignored_before + 3; }, 30s))
      << "the writer did not report the three replayed events as ignored\n" << f.logs_tail();
  auto j2 = f.job(job).value();
  EXPECT_EQ(j2.completed, 72);
  EXPECT_EQ(j2.failed, 0);
  EXPECT_EQ(j2.status, "completed");
  {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params1("SELECT status, output::text FROM executions WHERE job_id=$1 AND region='eu-west' "
                             "AND model_id='mistral-7b' AND question_id='math_basic' AND sample=0",
                             job);
    EXPECT_EQ(r[0].as<std::string>(), "completed");
    EXPECT_EQ(r[1].as<std::string>(), text_before);
  }

  // Re-submitting a finished job enqueues nothing.
  auto again = f.submit(spec, job);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.enqueued, 0);
  EXPECT_EQ(again.skipped, 72);
  EXPECT_EQ(f.executions(job).rows, 72);
}

TEST(EndToEnd, JobWithoutQuestionsHasOneExecutionPerRegionAndModel) {
  Fleet f("e2e-noq");
  f.start_sim({"--latency-ms", "5"});
  std::vector<std::string> regions{"nq-a-" + unique_suffix(), "nq-b-" + unique_suffix()};
  f.write_endpoints(regions);
  f.start_writer();
  for (const auto& r : regions) f.start_worker(r);
  auto job = "e2e-noq-" + unique_suffix();
  auto s = f.submit(R"({"models":["m1","m2","m3"],"regions":[")" + regions[0] + R"(",")" + regions[1] + R"("]})", job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.total, 6);
  ASSERT_TRUE(f.wait_finished(job, 60s)) << f.logs_tail();
  auto e = f.executions(job);
  EXPECT_EQ(e.rows, 6);
  EXPECT_EQ(e.distinct_keys, 6);
  EXPECT_EQ(e.completed, 6);
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM executions WHERE job_id=$1 AND question_id=''", job)[0].as<long>(), 6);
}

TEST(EndToEnd, InvalidSpecExitsTwoAndWritesNothing) {
  Fleet f("e2e-badspec");
  auto job = "e2e-bad-" + unique_suffix();
  auto s = f.submit(R"({"models":["m"],"regions":["r"],"questions":["no_such_question"]})", job);
  EXPECT_EQ(s.exit_code, 2);
  EXPECT_NE(s.err.find("questions[0]"), std::string::npos) << s.err;
  EXPECT_FALSE(f.job(job).has_value()) << "nothing may be written for a bad spec";
  auto broken = f.submit("{\"models\": [", job);
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_FALSE(f.job(job).has_value());
}

TEST(EndToEnd, MigrateTwiceAtOnceBothSucceed) {
  Fleet f("e2e-migrate");
  std::vector<std::unique_ptr<Process>> ps;
  for (int i = 0; i < 2; ++i)
    ps.push_back(std::make_unique<Process>(std::vector<std::string>{build_dir() + "/beacon-producer", "migrate"}, f.env(),
                                           f.dir() + "/migrate-" + std::to_string(i) + ".log"));
  for (auto& p : ps) EXPECT_EQ(p->wait(60s), 0) << p->output();
}

TEST(EndToEnd, StatusOfUnknownJobExitsTwo) {
  Fleet f("e2e-unknown");
  EXPECT_EQ(f.producer({"status", "no-such-job-" + unique_suffix()}).exit_code, 2);
}

}  // namespace beacon::test
