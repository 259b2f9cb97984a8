// SPEC invariant 7 (SIGTERM), exactly: the worker stops consuming, finishes
// precisely the work it held, and leaves the rest queued untouched. The
// resilience test's `completed >= 4` could not tell a worker that kept
// consuming during its drain; this one counts the queue (broker), the rows
// (Postgres) and the requests (endpoint).
#include <csignal>
#include <iostream>

#include <gtest/gtest.h>

#include <beacon/amqp/topology.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {

using namespace std::chrono_literals;

TEST(WorkerDrain, SigtermFinishesExactlyTheInFlightWorkAndLeavesTheRestQueued) {
  Fleet f("wd-exact");
  f.start_sim({"--latency-ms", "3000"});
  auto region = "wde-" + unique_suffix();
  f.write_endpoints({region});
  f.start_writer();
  auto& worker = f.start_worker(region, {"--concurrency", "4", "--metrics-addr", "127.0.0.1:0"});
  int port = logged_metrics_port(worker);
  ASSERT_NE(port, 0) << worker.output();
  auto job = "wd-exact-" + unique_suffix();
  constexpr long kTotal = 12;
  auto s = f.submit(numbered_spec({region}, {"m1"}, kTotal, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(eventually(
      [&] { return scrape(port, "beacon_worker_in_flight") == 4 && try_scrape(port, "beacon_worker_endpoint_in_flight") == 4; },
      30s))
      << f.logs_tail();
  ASSERT_EQ(sim_stat(f, "requests"), 4);

  worker.signal(SIGTERM);
  auto rc = worker.wait(30s);
  ASSERT_TRUE(rc.has_value()) << "worker did not exit\n" << worker.output();
  EXPECT_EQ(*rc, 0) << worker.output();

  const auto queue = amqp::exec_queue(region);
  // The worker is gone: what it did not ack is back in the queue by now.
  EXPECT_EQ(queue_depth(queue), kTotal - 4) << "the messages it never started stay queued";
  EXPECT_EQ(sim_stat(f, "requests"), 4) << "nothing was sent after SIGTERM";
  EXPECT_EQ(sim_stat(f, "completed"), 4);
  ASSERT_TRUE(eventually([&] { return f.executions(job).completed == 4 && f.executions(job).running == 0; }, 30s))
      << "the 4 in-flight executions end completed, recorded by the writer\n" << f.logs_tail();
  auto e = f.executions(job);
  EXPECT_EQ(e.completed, 4) << "exactly the in-flight work finished";
  EXPECT_EQ(e.pending, kTotal - 4) << "the rest was never touched";
  EXPECT_EQ(e.failed + e.cancelled, 0);

  f.start_worker(region, {"--concurrency", "4"});
  ASSERT_TRUE(f.wait_finished(job, 60s)) << f.logs_tail();
  expect_exact(f, job, kTotal, kTotal);
  EXPECT_EQ(sim_stat(f, "requests"), kTotal) << "a drained worker hands nothing back to be paid again";
}

}  // namespace beacon::test
