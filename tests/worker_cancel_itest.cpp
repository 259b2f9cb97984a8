// Issue 8 item 2, worker side: a cancel stops the spending, and a cancel
// fences by submission (a re-submit right after a cancel runs). The real
// worker, progress-writer and producer against the real RabbitMQ and
// Postgres; the simulator counts what reached the endpoint.
#include <iostream>

#include <gtest/gtest.h>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

// A sim counter; fails the test when the sim does not answer (never reads as 0).
long sim_counter(const Fleet& f, const std::string& field) {
  long v = sim_stat(f, field);
  EXPECT_GE(v, 0) << "the simulator did not answer /stats (" << field << ")";
  return v;
}

// A worker metric; fails the test when /metrics does not answer.
double metric(int port, const std::string& name) {
  double v = scrape(port, name);
  EXPECT_GE(v, 0) << "/metrics on port " << port << " did not answer (" << name << ")";
  return v;
}

bool no_open_rows(Fleet& f, const std::string& job) {
  auto e = f.executions(job);
  return e.rows > 0 && e.running == 0 && e.pending == 0;
}

}  // namespace

// A worker holding 32 messages of a job, 4 of them on the wire (max_in_flight
// 4, 3 s per request): after the cancel, only those 4 reach the endpoint's
// answer; the 28 waiting inside the worker and the rest in the queue end
// `cancelled` without an endpoint call.
TEST(WorkerCancel, CancelStopsRequestsWaitingInsideTheWorker) {
  Fleet f("wc-spend");
  f.start_sim({"--latency-ms", "3000"});
  auto region = "wcs-" + unique_suffix();
  f.write_endpoints({region}, R"({"max_in_flight": 4})");
  f.start_writer();
  auto& worker = f.start_worker(region, {"--concurrency", "32", "--metrics-addr", "127.0.0.1:0"});
  int port = logged_metrics_port(worker);
  ASSERT_NE(port, 0) << worker.output();
  auto job = "wc-spend-" + unique_suffix();
  constexpr long kTotal = 40;
  auto s = f.submit(numbered_spec({region}, {"m1"}, kTotal, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(eventually(
      [&] {
        return scrape(port, "beacon_worker_in_flight") >= 32 && try_scrape(port, "beacon_worker_endpoint_in_flight") >= 4;
      },
      30s))
      << "the worker should hold 32 messages with 4 on the wire\n" << f.logs_tail();

  const long sent_before = sim_counter(f, "requests");
  auto r = f.producer({"cancel", job});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const long completed_at_cancel = sim_counter(f, "completed");

  ASSERT_TRUE(eventually([&] { return no_open_rows(f, job); }, 60s)) << "every row ends\n" << f.logs_tail();
  ASSERT_TRUE(eventually([&] { return scrape(port, "beacon_worker_in_flight") == 0; }, 30s))
      << "every message is acked\n" << f.logs_tail();
  const long sent_after = sim_counter(f, "requests") - sent_before;
  const long completed_after = sim_counter(f, "completed") - completed_at_cancel;
  EXPECT_LE(completed_after, 4) << "only the requests on the wire at the cancel may finish";
  EXPECT_LE(sent_after, 4) << "requests waiting for an endpoint slot are never sent after a cancel";

  auto e = f.executions(job);
  EXPECT_EQ(e.rows, kTotal);
  EXPECT_EQ(e.failed, 0) << "a cancel is never a failure";
  EXPECT_EQ(e.completed + e.cancelled, kTotal);
  EXPECT_GE(e.cancelled, kTotal - 8) << "the rest ends cancelled";
  EXPECT_EQ(e.completed, sim_counter(f, "completed")) << "what was paid for is kept";
  EXPECT_GE(metric(port, "beacon_worker_cancelled_total"), 28) << "the 28 waiting inside the worker";
  EXPECT_EQ(queue_depth("beacon.exec." + region), 0);
  std::cout << "[figures] cancel with 4 on the wire and 28 waiting: " << sent_after << " sent and "
            << completed_after << " completed after the cancel; " << e.cancelled << " cancelled\n";
}

// Cancel, then re-submit at once: the first run's messages are dropped (their
// `cancelled` events carry submission 1), the re-submit (submission 2) runs
// every execution to `completed`, and nothing is left cancelled.
TEST(WorkerCancel, CancelThenImmediateResubmitCompletesEverything) {
  Fleet f("wc-resubmit");
  // Slow enough that most of the first run is still queued when the cancel
  // and the re-submit land.
  f.start_sim({"--latency-ms", "1000"});
  auto region = "wcr-" + unique_suffix();
  f.write_endpoints({region}, R"({"max_in_flight": 4})");
  f.start_writer();
  auto& worker = f.start_worker(region, {"--concurrency", "32", "--metrics-addr", "127.0.0.1:0"});
  int port = logged_metrics_port(worker);
  ASSERT_NE(port, 0) << worker.output();
  auto job = "wc-resubmit-" + unique_suffix();
  constexpr long kTotal = 40;
  auto spec = numbered_spec({region}, {"m1"}, kTotal, job);
  auto s = f.submit(spec, job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(eventually([&] { return try_scrape(port, "beacon_worker_endpoint_in_flight") >= 4; }, 30s))
      << f.logs_tail();

  auto r = f.producer({"cancel", job});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto again = f.submit(spec, job);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_GE(again.enqueued, kTotal / 2) << "the first run should still have been under way at the cancel";

  ASSERT_TRUE(eventually([&] { return f.executions(job).completed == kTotal; }, 90s))
      << "the re-submit completes every execution\n" << f.logs_tail();
  ASSERT_TRUE(eventually([&] { return scrape(port, "beacon_worker_in_flight") == 0; }, 30s)) << f.logs_tail();
  auto e = f.executions(job);
  EXPECT_EQ(e.cancelled, 0) << "no stale cancelled event of the first run lands on the re-submitted rows";
  EXPECT_EQ(e.failed, 0);
  auto j = f.job(job);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->status, "completed");
  EXPECT_EQ(j->cancelled, 0);
  EXPECT_EQ(sim_counter(f, "completed_duplicates"), 0) << "nothing completed was paid for twice";
}

}  // namespace beacon::test
