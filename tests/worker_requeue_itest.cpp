// Issue 8 item 3, worker side (SPEC decisions, D2): the broker's delivery
// limit is for poison only. A worker's own requeues (drain abort) are fresh
// copies with a delivery count of 0, and a valid message that came back often
// through crashes is refreshed before it runs, so rolling restarts during
// long inferences dead-letter nothing, with a delivery limit of 2.
#include <csignal>
#include <iostream>

#include <gtest/gtest.h>

#include <beacon/amqp/topology.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

// A queue's x-delivery-limit is fixed when it is first declared, and
// beacon.results is shared by the suite (declared with the suite's limit).
// This test needs the whole fleet at a limit of 2, so it declares
// beacon.results afresh for its run and deletes it again at the end (tests
// run serially; the next part to start declares it with the suite's limit).
class FreshResultsQueue {
 public:
  FreshResultsQueue() { delete_queue(std::string(amqp::kResultsQueue)); }
  ~FreshResultsQueue() { delete_queue(std::string(amqp::kResultsQueue)); }
  FreshResultsQueue(const FreshResultsQueue&) = delete;
  FreshResultsQueue& operator=(const FreshResultsQueue&) = delete;
};

}  // namespace

TEST(WorkerRequeue, RollingRestartsDuringLongInferencesDeadLetterNothing) {
  if (amqp::topology_options_from_env().queue_type == "classic")
    GTEST_SKIP() << "classic queues have no delivery limit (BEACON_QUEUE_TYPE=classic)";
  // Every part of this fleet declares its queues with a limit of 2.
  ScopedEnv limit("BEACON_DELIVERY_LIMIT", "2");
  FreshResultsQueue results;
  Fleet f("wr-rolling");
  f.start_sim({"--latency-ms", "3000"});
  auto region = "wrr-" + unique_suffix();
  f.write_endpoints({region});
  auto job = "wr-rolling-" + unique_suffix();
  constexpr long kTotal = 12;
  // The region's queue is declared by the first worker (with the limit of 2).
  constexpr int kRounds = 6;
  double requeued = 0, refreshed = 0;  // before each round's end: what the earlier rounds left behind
  for (int round = 0; round < kRounds; ++round) {
    auto& w = f.start_worker(region, {"--concurrency", "4", "--drain-timeout-s", "1", "--metrics-addr", "127.0.0.1:0"});
    int port = logged_metrics_port(w);
    ASSERT_NE(port, 0) << w.output();
    if (round == 0) {
      auto s = f.submit(numbered_spec({region}, {"m1"}, kTotal, job), job);
      ASSERT_EQ(s.exit_code, 0) << s.err;
    }
    ASSERT_TRUE(eventually([&] { return try_scrape(port, "beacon_worker_endpoint_in_flight") >= 4; }, 30s))
        << "round " << round << ": the worker should have 4 inferences on the wire\n" << w.output();
    requeued += scrape(port, "beacon_worker_messages_requeued_total");
    refreshed += scrape(port, "beacon_worker_messages_refreshed_total");
    if (round % 2 == 0) {
      // SIGTERM with a drain shorter than the inference: aborted, requeued by the worker.
      w.signal(SIGTERM);
      auto rc = w.wait(20s);
      ASSERT_TRUE(rc.has_value()) << "round " << round << ": worker did not exit\n" << w.output();
      EXPECT_EQ(*rc, 0) << w.output();
    } else {
      // A crash: the broker returns the messages (their delivery count grows).
      w.kill();
    }
  }
  // Only now the writer: the rows' `started` events from the rounds wait in beacon.results.
  f.start_writer();
  auto& last = f.start_worker(region, {"--concurrency", "4", "--metrics-addr", "127.0.0.1:0"});
  int port = logged_metrics_port(last);
  ASSERT_NE(port, 0) << last.output();
  const bool finished = f.wait_finished(job, 120s);
  auto dead = take_dead_letters([&](const amqp::Delivery& d) { return d.body.find(job) != std::string::npos; }, 0, 10s);
  EXPECT_TRUE(dead.empty()) << dead.size() << " valid messages of the job were dead-lettered by the delivery limit";
  ASSERT_TRUE(finished) << "the job did not finish\n" << f.logs_tail();
  expect_exact(f, job, kTotal, kTotal);
  EXPECT_EQ(queue_depth(amqp::exec_queue(region)), 0);
  refreshed += scrape(port, "beacon_worker_messages_refreshed_total");
  EXPECT_GE(refreshed, 4) << "the messages a SIGKILL returned come back with a delivery count and are refreshed";
  std::cout << "[figures] " << kRounds << " rolling worker restarts (SIGTERM/SIGKILL) with delivery limit 2: "
            << dead.size() << " dead-lettered, " << requeued << " requeued as copies, " << refreshed
            << " refreshed, endpoint requests " << sim_stat(f, "requests") << " for " << kTotal
            << " executions\n";
}

}  // namespace beacon::test
