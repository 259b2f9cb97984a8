// SPEC decisions D3, worker side: after a reconnect the worker publishes
// `started` again for every inference still running, because the first one
// may have been lost with the connection, and without it the row shows no
// live attempt of this worker (another worker would pay again).
#include <iostream>
#include <memory>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "tcp_gate.hpp"
#include <beacon/amqp/topology.hpp>
#include <beacon/core/messages.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {

using namespace std::chrono_literals;

namespace {

// A TCP gate in front of the test broker, and the broker URL that goes through it.
struct BrokerGate {
  std::unique_ptr<amqp::testing::TcpGate> gate;
  std::string url;
};

BrokerGate gate_to_broker() {
  auto url = require_env("BEACON_AMQP_URL");
  auto at = url.rfind('@');
  auto colon = url.rfind(':');
  if (at == std::string::npos || colon < at) throw std::runtime_error("unexpected BEACON_AMQP_URL: " + url);
  BrokerGate g;
  g.gate = std::make_unique<amqp::testing::TcpGate>(url.substr(at + 1, colon - at - 1), std::stoi(url.substr(colon + 1)));
  g.url = url.substr(0, at + 1) + "127.0.0.1:" + std::to_string(g.gate->port());
  return g;
}

}  // namespace

TEST(WorkerLease, StartedIsPublishedAgainForRunningInferencesAfterAReconnect) {
  auto g = gate_to_broker();
  auto& gate = *g.gate;
  const std::string results(amqp::kResultsQueue);
  {
    // No writer in this test: the events stay in beacon.results to be counted.
    ScopedEnv through_gate("BEACON_AMQP_URL", g.url);
    Fleet f("wl-started");
    f.start_sim({"--latency-ms", "6000"});
    auto region = "wls-" + unique_suffix();
    f.write_endpoints({region});
    auto& worker = f.start_worker(region, {"--concurrency", "4", "--metrics-addr", "127.0.0.1:0"});
    int port = logged_metrics_port(worker);
    ASSERT_NE(port, 0) << worker.output();
    auto job = "wl-started-" + unique_suffix();
    auto s = f.submit(numbered_spec({region}, {"m1"}, 4, job), job);
    ASSERT_EQ(s.exit_code, 0) << s.err;
    ASSERT_TRUE(eventually([&] { return try_scrape(port, "beacon_worker_endpoint_in_flight") == 4; }, 30s))
        << worker.output();
    gate.cut();
    ASSERT_TRUE(eventually([&] { return scrape(port, "beacon_worker_broker_reconnects_total") >= 1 && is_ready(port); },
                           30s))
        << worker.output();
    ASSERT_TRUE(eventually([&] { return scrape(port, "beacon_worker_in_flight") == 0 &&
                                        scrape(port, "beacon_worker_executions_completed_total") == 4; },
                           60s))
        << "the 4 inferences finish and their redelivered messages are acked\n" << worker.output();

    std::map<EventKind, int> events;
    consume_settling(
        results,
        [&](const amqp::Delivery& d, bool& stop) {
          if (d.body.find(job) == std::string::npos) return true;  // not this test's: no one waits for it
          ++events[decode_event(d.body).event];
          stop = events[EventKind::completed] >= 4 && events[EventKind::started] >= 8;
          return true;
        },
        20s, 3s);
    EXPECT_EQ(events[EventKind::completed], 4);
    EXPECT_EQ(events[EventKind::started], 8) << "each running inference announces itself again on the new connection";
    EXPECT_EQ(sim_stat(f, "requests"), 4) << "the redeliveries joined the running inferences";
  }
}

// Issue 8 item 8: three workers in one region, each behind its own gate. A
// worker whose broker connection is cut (and stays refused for a while) keeps
// running its 4 inferences; the broker redelivers their messages to the
// other two, whose preflight sees the row running under a live lease (the
// cut worker still heartbeats to Postgres) and waits for its outcome instead
// of calling the endpoint again. Two rounds, a different worker cut in each.
TEST(WorkerLease, ConnectionCutsInARegionOfThreeWorkersPayNothingTwice) {
  Fleet f("wl-three");
  f.start_sim({"--latency-ms", "3000"});
  auto region = "wl3-" + unique_suffix();
  f.write_endpoints({region});
  f.start_writer();
  std::vector<BrokerGate> gates;
  std::vector<int> ports;
  for (int i = 0; i < 3; ++i) {
    gates.push_back(gate_to_broker());
    auto& w = f.start_worker(region, {"--concurrency", "4", "--metrics-addr", "127.0.0.1:0"},
                             {{"BEACON_AMQP_URL", gates.back().url}});
    ports.push_back(logged_metrics_port(w));
    ASSERT_NE(ports.back(), 0) << w.output();
  }
  auto job = "wl-three-" + unique_suffix();
  constexpr long kTotal = 48;
  auto s = f.submit(numbered_spec({region}, {"m1"}, kTotal, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;

  auto lease_waits = [&](int except) {
    double sum = 0;
    for (int i = 0; i < 3; ++i)
      if (i != except) sum += try_scrape(ports[i], "beacon_worker_preflight_lease_waits_total").value_or(0);
    return sum;
  };
  double waited = 0;
  for (int victim = 0; victim < 2; ++victim) {
    ASSERT_TRUE(eventually(
        [&] {
          for (int p : ports)
            if (try_scrape(p, "beacon_worker_endpoint_in_flight") != 4) return false;
          return true;
        },
        60s))
        << "round " << victim << ": every worker should have 4 inferences on the wire\n" << f.logs_tail();
    const double before = lease_waits(victim);
    gates[victim].gate->refuse();
    // The victim's messages go to the other two as their slots free up.
    ASSERT_TRUE(eventually([&] { return lease_waits(victim) > before; }, 30s))
        << "round " << victim << ": no redelivered message waited for the live worker's run (gate port "
        << gates[victim].gate->port() << ", endpoint duplicates so far: "
        << try_sim_stat(f, "duplicates").value_or(-1) << ")\n" << f.logs_tail();
    waited += lease_waits(victim) - before;
    gates[victim].gate->open();
    ASSERT_TRUE(eventually([&] { return try_scrape(ports[victim], "beacon_worker_broker_connected") == 1; }, 60s))
        << "round " << victim << ": the cut worker did not reconnect\n" << f.logs_tail();
  }
  ASSERT_TRUE(f.wait_finished(job, 180s)) << "the job did not finish\n" << f.logs_tail();
  expect_exact(f, job, kTotal, kTotal);
  auto dead = take_dead_letters([&](const amqp::Delivery& d) { return d.body.find(job) != std::string::npos; }, 0, 5s);
  EXPECT_TRUE(dead.empty()) << dead.size() << " messages of the job were dead-lettered";
  EXPECT_EQ(sim_stat(f, "duplicates"), 0) << "an execution reached the endpoint twice";
  EXPECT_EQ(sim_stat(f, "requests"), kTotal);
  std::cout << "[figures] 3 workers in one region, 2 connection cuts: " << waited
            << " redelivered messages waited for a live lease, endpoint requests " << sim_stat(f, "requests")
            << " for " << kTotal << " executions, duplicates " << sim_stat(f, "duplicates") << "\n";
}

}  // namespace beacon::test
