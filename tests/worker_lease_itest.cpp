// SPEC decisions D3, worker side: after a reconnect the worker publishes
// `started` again for every inference still running, because the first one
// may have been lost with the connection, and without it the row shows no
// live attempt of this worker (another worker would pay again).
#include <iostream>

#include <gtest/gtest.h>

#include "tcp_gate.hpp"
#include <beacon/amqp/topology.hpp>
#include <beacon/core/messages.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {

using namespace std::chrono_literals;

TEST(WorkerLease, StartedIsPublishedAgainForRunningInferencesAfterAReconnect) {
  auto url = require_env("BEACON_AMQP_URL");
  auto at = url.rfind('@');
  auto colon = url.rfind(':');
  ASSERT_TRUE(at != std::string::npos && colon > at) << url;
  amqp::testing::TcpGate gate(url.substr(at + 1, colon - at - 1), std::stoi(url.substr(colon + 1)));
  const std::string results(amqp::kResultsQueue);
  {
    // No writer in this test: the events stay in beacon.results to be counted.
    ScopedEnv through_gate("BEACON_AMQP_URL", url.substr(0, at + 1) + "127.0.0.1:" + std::to_string(gate.port()));
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
    ASSERT_TRUE(eventually([&] { return scrape(port, "beacon_worker_endpoint_in_flight") == 4; }, 30s))
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

}  // namespace beacon::test
