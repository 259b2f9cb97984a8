// The progress-writer against the real broker and database (issue 8):
// poison never waits for other traffic (item 4), the longest answer a worker
// may publish is stored (item 1), the writer's own hand-backs never count
// towards the delivery limit (item 3), and a frozen database costs it neither
// its broker connection nor a prompt exit (item 6).
#include <signal.h>

#include <fstream>
#include <iostream>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <beacon/amqp/topology.hpp>
#include <beacon/core/messages.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

// SIGSTOPs the private Postgres (postmaster and every backend) for the
// scope: connections stay open, nothing answers — a frozen or partitioned
// database. SIGCONT on every exit path.
class FrozenPostgres {
 public:
  FrozenPostgres() {
    std::ifstream pidfile(require_env("BEACON_SERVICES_DIR") + "/pg/data/postmaster.pid");
    pidfile >> postmaster_;
    if (postmaster_ <= 0) throw std::runtime_error("no postmaster.pid in BEACON_SERVICES_DIR/pg/data");
    signal_all(SIGSTOP);
  }
  ~FrozenPostgres() { signal_all(SIGCONT); }
  FrozenPostgres(const FrozenPostgres&) = delete;
  FrozenPostgres& operator=(const FrozenPostgres&) = delete;

 private:
  void signal_all(int sig) {
    ::kill(postmaster_, sig);
    run({"/usr/bin/pkill", sig == SIGSTOP ? "-STOP" : "-CONT", "-P", std::to_string(postmaster_)});
  }
  pid_t postmaster_ = 0;
};

std::vector<amqp::Delivery> dead_of(const std::string& job) {
  return take_dead_letters([&](const amqp::Delivery& d) { return d.message_id.find(job) != std::string::npos; }, 0,
                           5s);
}

TEST(WriterEvents, PoisonOnAnIdleQueueReachesBeaconDeadWithinTheBatchWait) {
  Fleet f("writer-poison-idle");
  auto& writer = f.start_writer({"--metrics-addr", "127.0.0.1:0", "--batch-wait-ms", "100"});
  int port = logged_metrics_port(writer);
  ASSERT_NE(port, 0) << writer.output();
  ASSERT_TRUE(eventually([&] { return is_ready(port); }, 30s)) << writer.output();

  auto id = "idle-poison-" + unique_suffix();
  publish_raw({{std::string(amqp::kResultsExchange), std::string(amqp::kResultsRoutingKey), "{not json", id, {}}});
  // Nothing else arrives: the time-based flush alone must move it.
  auto dead = take_dead_letters([&](const amqp::Delivery& d) { return d.message_id == id; }, 1, 5s);
  ASSERT_EQ(dead.size(), 1u) << "a lone malformed event is dead-lettered without waiting for more traffic\n"
                             << writer.output();
}

TEST(WriterEvents, TheLongestAnswerAWorkerMayPublishIsStored) {
  Fleet f("writer-long");
  auto region = "wlong-" + unique_suffix();
  auto job = "writer-long-" + unique_suffix();
  // Registered and enqueued for a region no worker serves: the test plays the worker.
  auto s = f.submit(numbered_spec({region}, {"m1"}, 1, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto& writer = f.start_writer();

  const std::string text(1536 * 1024, 'a');  // 1.5 MiB, over the old 1 MiB event bound
  ResultEvent e;
  e.event = EventKind::completed;
  e.key = ExecutionKey{job, region, "m1", "q0000", 0};
  e.worker_id = "test";
  e.started_at = e.completed_at = "2026-12-01T00:00:00Z";
  e.output = Output{text, Classification::answered, "length", 10, 400000};
  publish_raw({{std::string(amqp::kResultsExchange), std::string(amqp::kResultsRoutingKey), encode(e),
                e.key.message_id() + "/completed", {}}});
  ASSERT_TRUE(f.wait_finished(job, 30s)) << writer.output();
  expect_exact(f, job, 1, 1);
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::nontransaction tx(c);
  auto stored = tx.exec_params1("SELECT length(output->>'text') FROM executions WHERE job_id = $1", job)[0]
                    .as<long>();
  EXPECT_EQ(stored, static_cast<long>(text.size())) << "the whole answer is stored";
  EXPECT_TRUE(dead_of(job).empty()) << "nothing of the job in beacon.dead";
}

// Item 3 and item 6 together: the job's 120 result events wait in
// beacon.results while Postgres is frozen; a writer is started and stopped six
// times (more returns than the delivery limit allows). Each one keeps its
// broker connection while its database calls hang, exits within its drain
// bound, and hands the events back as fresh copies: once Postgres thaws, the
// job lands exactly and nothing is dead-lettered.
TEST(WriterEvents, RestartsWhileTheDatabaseIsFrozenLoseNothingAndDeadLetterNothing) {
  auto topo = amqp::topology_options_from_env();
  Fleet f("writer-frozen");
  f.start_sim({"--latency-ms", "1"});
  auto region = "wfrz-" + unique_suffix();
  f.write_endpoints({region});
  auto job = "writer-frozen-" + unique_suffix();
  auto s = f.submit(numbered_spec({region}, {"m1", "m2"}, 30, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto& worker = f.start_worker(region, {"--concurrency", "16"});
  ASSERT_TRUE(eventually([&] { return f.sim_requests() >= 60; }, 60s)) << f.logs_tail();
  ASSERT_TRUE(eventually([&] { return queue_depth(amqp::exec_queue(region)) == 0; }, 30s));
  ASSERT_EQ(worker.stop(30s), 0) << worker.output();
  ASSERT_GE(queue_depth(std::string(amqp::kResultsQueue)), 120) << "the job's events wait for a writer";

  const int rounds = std::max(6, topo.delivery_limit + 1);
  ScopedEnv heartbeat("BEACON_AMQP_HEARTBEAT_S", "2");
  {
    FrozenPostgres frozen;
    for (int round = 0; round < rounds; ++round) {
      auto& writer = f.start_writer({"--metrics-addr", "127.0.0.1:0", "--drain-timeout-s", "1"});
      int port = logged_metrics_port(writer);
      ASSERT_NE(port, 0) << writer.output();
      ASSERT_TRUE(eventually([&] { return scrape(port, "beacon_writer_events_consumed_total") >= 120; }, 30s))
          << "round " << round << ": the writer holds the job's events\n" << writer.output();
      // Longer than two heartbeats of the test environment's broker connection:
      // a writer whose SQL ran on its broker thread would be dropped by now.
      // (not a synchronisation: the time the connection must survive)
      if (round == 0) std::this_thread::sleep_for(5s);
      EXPECT_EQ(scrape(port, "beacon_writer_broker_reconnects_total"), 0) << "round " << round;
      auto t0 = std::chrono::steady_clock::now();
      writer.signal(SIGTERM);
      auto rc = writer.wait(15s);
      ASSERT_TRUE(rc.has_value()) << "round " << round << ": SIGTERM with a frozen database must not hang\n"
                                  << writer.output();
      EXPECT_EQ(*rc, 0) << writer.output();
      EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s) << "drain 1 s + hand-back, not a database timeout";
    }
  }
  auto& writer = f.start_writer();
  ASSERT_TRUE(f.wait_finished(job, 60s)) << writer.output();
  expect_exact(f, job, 60, 60);
  EXPECT_TRUE(dead_of(job).empty()) << "the delivery limit never takes the writer's own hand-backs";
}

}  // namespace
}  // namespace beacon::test
