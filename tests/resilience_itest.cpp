// Issue 3: the fleet rides through crashes, restarts and signals (SPEC
// invariants 1, 2, 3, 6 and 7) with the real binaries against the real
// RabbitMQ and Postgres of scripts/test.sh. Each test uses its own region(s)
// and job id, and prints what it measured.
#include <csignal>
#include <iostream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include <beacon/amqp/topology.hpp>
#include <beacon/core/messages.hpp>

#include "tcp_gate.hpp"

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Waits until the metric satisfies `ok`; the failure message names it and its last value.
::testing::AssertionResult metric_reaches(int port, const std::string& metric, const std::function<bool(double)>& ok,
                                          std::chrono::milliseconds timeout) {
  std::optional<double> last;
  if (eventually(
          [&] {
            last = try_scrape(port, metric);
            return last && ok(*last);
          },
          timeout, 100ms))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << metric << " on port " << port << " did not reach the expected value within "
                                       << timeout.count() << " ms (last "
                                       << (last ? std::to_string(*last) : std::string("absent or no answer")) << ")";
}

}  // namespace

// Invariant 7 (SIGKILL) and 3: a worker killed with requests in flight loses
// nothing; its unacked messages go to the other worker of the region, and the
// job ends with one row per key and exact counters. The price is paid at the
// endpoint: at most the killed worker's in-flight requests run twice.
TEST(Resilience, WorkerKilledMidInferenceIsRedeliveredToAnotherWorker) {
  Fleet f("res-kill-worker");
  f.start_sim({"--latency-ms", "1500", "--jitter-ms", "200"});
  auto region = "rkw-" + unique_suffix();
  f.write_endpoints({region});
  f.start_writer();
  auto& victim = f.start_worker(region, {"--concurrency", "6", "--metrics-addr", "127.0.0.1:0", "--worker-id", "victim"});
  f.start_worker(region, {"--concurrency", "6", "--worker-id", "survivor"});
  int port = logged_metrics_port(victim);
  ASSERT_NE(port, 0) << victim.output();
  auto job = "res-kill-worker-" + unique_suffix();
  auto s = f.submit(numbered_spec({region}, {"m1", "m2", "m3"}, 12, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_EQ(s.total, 36);

  ASSERT_TRUE(metric_reaches(port, "beacon_worker_endpoint_in_flight", [](double v) { return v >= 3; }, 30s))
      << f.logs_tail();
  double held = scrape(port, "beacon_worker_in_flight");
  victim.kill();
  auto killed_at = Clock::now();
  f.start_worker(region, {"--concurrency", "6", "--worker-id", "victim-restarted"});

  ASSERT_TRUE(f.wait_finished(job, 120s)) << "job did not finish after the kill\n" << f.logs_tail();
  expect_exact(f, job, 36, 36);
  long dups = sim_stat(f, "duplicates");
  std::cout << "[figures] worker SIGKILL: held " << held << " messages, endpoint duplicates " << dups
            << ", job finished " << seconds_since(killed_at) << " s after the kill\n";
  EXPECT_GE(dups, 1) << "the killed worker's in-flight requests must have been run again by another worker";
  EXPECT_LE(dups, static_cast<long>(held)) << "only what the killed worker held may be paid twice";
}

// Invariant 3 for the progress-writer: events it holds in an uncommitted
// batch are not acked, so a SIGKILL loses none; its successor applies them once.
TEST(Resilience, ProgressWriterKilledMidBatchLosesNothing) {
  Fleet f("res-kill-writer");
  f.start_sim({"--latency-ms", "20"});
  auto region = "rkp-" + unique_suffix();
  f.write_endpoints({region});
  // A batch that only a full 10,000 events or a minute would close: the
  // writer is surely killed holding it.
  auto& writer = f.start_writer({"--batch-size", "10000", "--batch-wait-ms", "60000", "--metrics-addr", "127.0.0.1:0"});
  f.start_worker(region, {"--concurrency", "10"});
  int port = logged_metrics_port(writer);
  ASSERT_NE(port, 0) << writer.output();
  auto job = "res-kill-writer-" + unique_suffix();
  auto s = f.submit(numbered_spec({region}, {"m1", "m2"}, 5, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;

  // Every execution's started and completed event is in the writer's batch.
  ASSERT_TRUE(metric_reaches(port, "beacon_writer_events_consumed_total", [](double v) { return v >= 20; }, 60s))
      << f.logs_tail();
  EXPECT_EQ(scrape(port, "beacon_writer_events_acked_total"), 0);
  EXPECT_EQ(f.executions(job).pending, 10) << "nothing is committed before the batch closes";
  writer.kill();

  auto& successor = f.start_writer({"--metrics-addr", "127.0.0.1:0"});
  int port2 = logged_metrics_port(successor);
  ASSERT_NE(port2, 0) << successor.output();
  ASSERT_TRUE(f.wait_finished(job, 60s)) << "the redelivered batch was not applied\n" << f.logs_tail();
  expect_exact(f, job, 10, 10);
  EXPECT_GE(scrape(port2, "beacon_writer_events_consumed_total"), 20) << "the batch was redelivered";
  EXPECT_EQ(sim_stat(f, "requests"), 10) << "the writer's crash costs no inference";
}

// A broker restart in the middle of a job and of a submit (invariants 3, 7):
//  * the worker and the writer reconnect on their own (logged backoff),
//    re-declare the topology and carry on; their processes never exit;
//  * inference in flight when the connection dropped is not paid twice: its
//    result is published on the new connection and the redelivered messages
//    join it, so the endpoint sees every execution exactly once, and no
//    stale delivery tag is ever acked (no 406 PRECONDITION_FAILED);
//  * the producer re-publishes what was not confirmed and exits 0.
TEST(Resilience, BrokerRestartMidJobAndMidSubmit) {
  Fleet f("res-broker");
  f.start_sim({"--latency-ms", "8000"});
  auto region = "rbr-" + unique_suffix();
  auto bulk_region = "rbr-bulk-" + unique_suffix();
  f.write_endpoints({region});
  auto& writer = f.start_writer({"--metrics-addr", "127.0.0.1:0"});
  auto& worker = f.start_worker(region, {"--concurrency", "8", "--metrics-addr", "127.0.0.1:0"});
  int wport = logged_metrics_port(worker), pport = logged_metrics_port(writer);
  ASSERT_NE(wport, 0) << worker.output();
  ASSERT_NE(pport, 0) << writer.output();
  auto job = "res-broker-" + unique_suffix();
  auto s = f.submit(numbered_spec({region}, {"m1", "m2"}, 8, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(metric_reaches(wport, "beacon_worker_endpoint_in_flight", [](double v) { return v >= 8; }, 30s))
      << f.logs_tail();

  // A submit of 60,000 messages (no worker consumes that region) in flight.
  auto bulk_job = "res-broker-bulk-" + unique_suffix();
  std::string models;
  for (int i = 0; i < 60; ++i) models += std::string(i ? "," : "") + "\"b" + std::to_string(i) + "\"";
  auto bulk_spec = f.write_file("bulk.json", "{\"models\":[" + models + "],\"regions\":[\"" + bulk_region +
                                                 "\"],\"samples\":1000}");
  Process submit({build_dir() + "/beacon-producer", "submit", bulk_spec, "--job-id", bulk_job}, f.env(),
                 f.dir() + "/bulk-submit.log");
  ASSERT_TRUE(eventually([&] { return queue_depth("beacon.exec." + bulk_region) > 2000 || !submit.running(); }, 60s))
      << submit.output();
  ASSERT_TRUE(submit.running()) << "the submit finished before the restart: it must be interrupted\n"
                                << submit.output();

  auto restart_at = Clock::now();
  auto r = restart_service("rabbitmq");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  double restart_s = seconds_since(restart_at);

  ASSERT_TRUE(eventually([&] { return is_ready(wport) && is_ready(pport); }, 60s)) << f.logs_tail();
  double ready_s = seconds_since(restart_at);
  auto submit_rc = submit.wait(180s);
  ASSERT_TRUE(f.wait_finished(job, 120s)) << "job did not finish after the restart\n" << f.logs_tail();
  double finished_s = seconds_since(restart_at);

  // The job: exact, and the endpoint saw each execution once.
  expect_exact(f, job, 16, 16);
  EXPECT_EQ(sim_stat(f, "requests"), 16) << "no inference may be paid twice across a reconnect";
  EXPECT_EQ(sim_stat(f, "duplicates"), 0);
  EXPECT_GE(scrape(wport, "beacon_worker_duplicates_absorbed_total"), 8)
      << "the redelivered messages joined the inference still running";
  EXPECT_GE(scrape(wport, "beacon_worker_broker_reconnects_total"), 1);
  EXPECT_GE(scrape(pport, "beacon_writer_broker_reconnects_total"), 1);
  EXPECT_TRUE(worker.running()) << "the worker must reconnect, not exit";
  EXPECT_TRUE(writer.running()) << "the writer must reconnect, not exit";
  auto wlog = worker.output();
  EXPECT_EQ(wlog.find("PRECONDITION_FAILED"), std::string::npos) << "a stale delivery tag was acked\n" << wlog;
  EXPECT_EQ(wlog.find("unknown delivery tag"), std::string::npos) << wlog;
  EXPECT_NE(wlog.find("reconnecting to the broker"), std::string::npos) << "the backoff is logged";
  EXPECT_NE(writer.output().find("reconnecting to the broker"), std::string::npos);

  // The submit: re-published what the restart left unconfirmed, exit 0.
  ASSERT_TRUE(submit_rc.has_value()) << "submit did not end\n" << submit.output();
  EXPECT_EQ(*submit_rc, 0) << submit.output();
  EXPECT_NE(submit.output().find("broker connection lost while enqueueing"), std::string::npos) << submit.output();
  EXPECT_NE(submit.output().find("\"enqueued\":60000"), std::string::npos) << submit.output();
  long depth = queue_depth("beacon.exec." + bulk_region);
  EXPECT_GE(depth, 60000) << "every message survives (duplicates allowed)";
  delete_queue("beacon.exec." + bulk_region);

  std::cout << "[figures] broker restart: restart took " << restart_s << " s, worker and writer ready "
            << ready_s << " s after it began, job finished after " << finished_s << " s; bulk queue held " << depth
            << " messages for 60000 planned\n";
}

// The connection cut under the worker and the writer again and again (a TCP
// gate between them and the broker), at whatever point of a message's life
// it falls: nothing lost, nothing twice, no stale delivery tag acked (no 406),
// and with one worker per region not one inference paid twice.
TEST(Resilience, ConnectionCutsMidJobLoseNothingAndPayNothingTwice) {
  auto url = require_env("BEACON_AMQP_URL");
  auto at = url.rfind('@');
  auto colon = url.rfind(':');
  ASSERT_TRUE(at != std::string::npos && colon > at) << url;
  amqp::testing::TcpGate gate(url.substr(at + 1, colon - at - 1), std::stoi(url.substr(colon + 1)));
  ScopedEnv through_gate("BEACON_AMQP_URL", url.substr(0, at + 1) + "127.0.0.1:" + std::to_string(gate.port()));
  Fleet f("res-cuts");
  f.start_sim({"--latency-ms", "300", "--jitter-ms", "200"});
  auto region = "rcu-" + unique_suffix();
  f.write_endpoints({region});
  auto& writer = f.start_writer({"--metrics-addr", "127.0.0.1:0"});
  auto& worker = f.start_worker(region, {"--concurrency", "8", "--metrics-addr", "127.0.0.1:0"});
  int wport = logged_metrics_port(worker), pport = logged_metrics_port(writer);
  ASSERT_NE(wport, 0) << worker.output();
  ASSERT_NE(pport, 0) << writer.output();
  auto job = "res-cuts-" + unique_suffix();
  auto s = f.submit(numbered_spec({region}, {"m1", "m2", "m3"}, 40, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto done = [&] { return f.executions(job).completed; };
  const int cuts = 8;
  for (int i = 0; i < cuts; ++i) {
    long before = done();
    ASSERT_LT(before, 120) << "the job finished before cut " << i;
    gate.cut();
    // Back at work: the worker saw this cut, both are connected again, and
    // a few more executions are recorded.
    ASSERT_TRUE(metric_reaches(wport, "beacon_worker_broker_reconnects_total", [&](double v) { return v >= i + 1; },
                               30s))
        << f.logs_tail();
    ASSERT_TRUE(eventually([&] { return is_ready(wport) && is_ready(pport) && done() >= std::min(before + 4, 120L); },
                           60s))
        << "no recovery after cut " << i << "\n" << f.logs_tail();
  }
  ASSERT_TRUE(f.wait_finished(job, 120s)) << f.logs_tail();
  expect_exact(f, job, 120, 120);
  EXPECT_EQ(sim_stat(f, "requests"), 120) << "the worker answered every redelivery from its own inference";
  EXPECT_GE(scrape(wport, "beacon_worker_broker_reconnects_total"), cuts);
  EXPECT_GE(scrape(pport, "beacon_writer_broker_reconnects_total"), 1);
  auto wlog = worker.output();
  EXPECT_EQ(wlog.find("PRECONDITION_FAILED"), std::string::npos) << "a stale delivery tag was acked";
  EXPECT_TRUE(worker.running());
  EXPECT_TRUE(writer.running());
  std::cout << "[figures] " << cuts << " connection cuts: " << scrape(wport, "beacon_worker_duplicates_absorbed_total")
            << " redeliveries absorbed by the worker, endpoint requests " << sim_stat(f, "requests")
            << " for 120 executions\n";
}

// Invariant 3 across a database restart: the writer keeps its batch unacked,
// retries with backoff and applies it once Postgres is back; it never exits.
TEST(Resilience, DatabaseRestartMidJob) {
  Fleet f("res-db");
  f.start_sim({"--latency-ms", "400", "--jitter-ms", "100"});
  auto region = "rdb-" + unique_suffix();
  f.write_endpoints({region});
  auto& writer = f.start_writer({"--metrics-addr", "127.0.0.1:0"});
  f.start_worker(region, {"--concurrency", "4"});
  int port = logged_metrics_port(writer);
  ASSERT_NE(port, 0) << writer.output();
  auto job = "res-db-" + unique_suffix();
  auto s = f.submit(numbered_spec({region}, {"m1", "m2", "m3"}, 20, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(eventually([&] { return f.executions(job).completed >= 5; }, 60s)) << f.logs_tail();

  auto restart_at = Clock::now();
  auto r = restart_service("postgres");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_TRUE(f.wait_finished(job, 120s)) << f.logs_tail();
  std::cout << "[figures] database restart: job finished " << seconds_since(restart_at) << " s after it began\n";

  expect_exact(f, job, 60, 60);
  EXPECT_TRUE(writer.running()) << "the writer must wait for Postgres, not exit";
  EXPECT_GE(scrape(port, "beacon_writer_db_errors_total"), 1) << "the outage was seen and retried\n" << writer.output();
  EXPECT_EQ(sim_stat(f, "duplicates"), 0);
  auto dead = take_dead_letters([&](const amqp::Delivery& d) { return d.body.find(job) != std::string::npos; }, 0, 20s);
  EXPECT_TRUE(dead.empty()) << "an outage is not bad input: " << dead.size() << " events dead-lettered";
}

// The writer has committed and acked every event it received, and nothing
// waits in beacon.results: what Postgres shows now is final for the events
// published so far (the parts that publish must be stopped or idle).
::testing::AssertionResult writer_caught_up(int writer_port, double at_least, std::chrono::milliseconds timeout) {
  std::optional<double> consumed, acked;
  long depth = -1;
  if (eventually(
          [&] {
            consumed = try_scrape(writer_port, "beacon_writer_events_consumed_total");
            acked = try_scrape(writer_port, "beacon_writer_events_acked_total");
            depth = queue_depth(std::string(amqp::kResultsQueue));
            return consumed && acked && *consumed >= at_least && *acked == *consumed && depth == 0;
          },
          timeout, 100ms))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "the writer did not catch up within " << timeout.count()
                                       << " ms: consumed " << consumed.value_or(-1) << " (wanted >= " << at_least
                                       << "), acked " << acked.value_or(-1) << ", beacon.results holds " << depth;
}

// Invariant 7 (SIGTERM): the worker stops taking messages, finishes exactly
// what it has in flight and exits 0; the rest stays queued, untouched, and
// nothing is paid twice. A worker that kept consuming after SIGTERM would run
// more than its 4 (the endpoint counts requests, Postgres counts rows, the
// broker counts what is still queued).
TEST(Resilience, WorkerSigtermFinishesInFlightAndExitsZero) {
  Fleet f("res-sigterm");
  f.start_sim({"--latency-ms", "2000"});
  auto region = "rst-" + unique_suffix();
  f.write_endpoints({region});
  auto& writer = f.start_writer({"--metrics-addr", "127.0.0.1:0"});
  int wport = logged_metrics_port(writer);
  ASSERT_NE(wport, 0) << writer.output();
  auto& worker = f.start_worker(region, {"--concurrency", "4", "--metrics-addr", "127.0.0.1:0"});
  int port = logged_metrics_port(worker);
  ASSERT_NE(port, 0) << worker.output();
  auto job = "res-sigterm-" + unique_suffix();
  auto s = f.submit(numbered_spec({region}, {"m1", "m2"}, 6, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(metric_reaches(port, "beacon_worker_endpoint_in_flight", [](double v) { return v >= 4; }, 30s))
      << f.logs_tail();

  auto t0 = Clock::now();
  worker.signal(SIGTERM);
  auto rc = worker.wait(30s);
  ASSERT_TRUE(rc.has_value()) << "worker did not exit\n" << worker.output();
  EXPECT_EQ(*rc, 0) << worker.output();
  double took = seconds_since(t0);
  EXPECT_LT(took, 10) << "in-flight requests take 2 s; the drain must not wait for more";
  // started + completed of the 4 drained executions, all committed.
  ASSERT_TRUE(writer_caught_up(wport, 8, 30s)) << f.logs_tail();
  auto drained = f.executions(job);
  EXPECT_EQ(drained.completed, 4) << "exactly the 4 in-flight executions finished\n" << f.logs_tail();
  EXPECT_EQ(drained.pending, 8) << "the other 8 were never started";
  EXPECT_EQ(drained.running + drained.failed + drained.cancelled, 0);
  EXPECT_EQ(sim_stat(f, "requests"), 4) << "the draining worker sent no request after SIGTERM";
  ASSERT_TRUE(eventually([&] { return queue_depth(amqp::exec_queue(region)) == 8; }, 10s))
      << "the 8 not started are back in the queue (depth " << queue_depth(amqp::exec_queue(region)) << ")";

  f.start_worker(region, {"--concurrency", "4"});
  ASSERT_TRUE(f.wait_finished(job, 60s)) << f.logs_tail();
  expect_exact(f, job, 12, 12);
  EXPECT_EQ(sim_stat(f, "requests"), 12) << "a drained worker hands nothing back to be paid again";
  std::cout << "[figures] worker SIGTERM with 4 requests in flight: exit 0 after " << took << " s\n";
}

// SIGINT and a drain timeout shorter than the requests: they are aborted,
// requeued (never marked failed), and the worker still exits 0 in time.
TEST(Resilience, WorkerSigintAfterDrainTimeoutRequeuesAndExitsZero) {
  Fleet f("res-sigint");
  f.start_sim({"--latency-ms", "100"});
  auto region = "rsi-" + unique_suffix();
  f.write_endpoints({region});
  auto& writer = f.start_writer({"--metrics-addr", "127.0.0.1:0"});
  int wport = logged_metrics_port(writer);
  ASSERT_NE(wport, 0) << writer.output();
  // The next 4 requests take a minute.
  auto port_of = [](const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); };
  ASSERT_NE(Fleet::http_post("127.0.0.1", port_of(f.sim_url()), "/admin/mode",
                             R"({"mode":"slow","count":4,"delay_ms":60000})"),
            "");
  auto& worker = f.start_worker(region, {"--concurrency", "4", "--drain-timeout-s", "1", "--metrics-addr", "127.0.0.1:0"});
  int port = logged_metrics_port(worker);
  ASSERT_NE(port, 0) << worker.output();
  auto job = "res-sigint-" + unique_suffix();
  auto s = f.submit(numbered_spec({region}, {"m1"}, 8, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(metric_reaches(port, "beacon_worker_endpoint_in_flight", [](double v) { return v >= 4; }, 30s))
      << f.logs_tail();

  auto t0 = Clock::now();
  worker.signal(SIGINT);
  auto rc = worker.wait(30s);
  ASSERT_TRUE(rc.has_value()) << "worker did not exit\n" << worker.output();
  EXPECT_EQ(*rc, 0) << worker.output();
  double took = seconds_since(t0);
  EXPECT_LT(took, 1 + 10) << "bound: --drain-timeout-s + 10 s";
  EXPECT_NE(worker.output().find("drain timeout: requeueing"), std::string::npos) << worker.output();
  // Whatever the worker published before it exited (the 4 started events, and
  // a failed one if it wrongly gave up) is committed before the rows are read.
  ASSERT_TRUE(writer_caught_up(wport, 4, 30s)) << f.logs_tail();
  EXPECT_EQ(f.executions(job).failed, 0) << "an aborted request never fails its execution";
  EXPECT_EQ(f.executions(job).completed, 0) << "the aborted requests did not complete";
  ASSERT_TRUE(eventually([&] { return queue_depth(amqp::exec_queue(region)) == 8; }, 10s))
      << "all 8 are queued again (depth " << queue_depth(amqp::exec_queue(region)) << ")";

  f.start_worker(region, {"--concurrency", "4"});
  ASSERT_TRUE(f.wait_finished(job, 60s)) << f.logs_tail();
  expect_exact(f, job, 8, 8);
  std::cout << "[figures] worker SIGINT with 4 minute-long requests, --drain-timeout-s 1: exit 0 after " << took
            << " s\n";
}

// The progress-writer on SIGTERM and SIGINT: commits the batch it holds,
// acks it and exits 0 at once, not after its minute-long batch window. No
// other writer runs, so the job being complete proves the commit.
TEST(Resilience, ProgressWriterSigtermAndSigintCommitAndExitZero) {
  Fleet f("res-writer-signals");
  f.start_sim({"--latency-ms", "20"});
  auto region = "rws-" + unique_suffix();
  f.write_endpoints({region});
  f.start_worker(region, {"--concurrency", "8"});
  for (int sig : {SIGTERM, SIGINT}) {
    const char* name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
    auto job = "res-writer-" + std::string(name) + "-" + unique_suffix();
    auto& writer = f.start_writer({"--batch-size", "10000", "--batch-wait-ms", "60000", "--metrics-addr", "127.0.0.1:0"});
    int port = logged_metrics_port(writer);
    ASSERT_NE(port, 0) << writer.output();
    auto s = f.submit(numbered_spec({region}, {"m1", "m2"}, 4, job), job);
    ASSERT_EQ(s.exit_code, 0) << s.err;
    // started + completed of all 8 executions are in the writer's open batch.
    ASSERT_TRUE(metric_reaches(port, "beacon_writer_events_consumed_total", [](double v) { return v >= 16; }, 60s))
        << f.logs_tail();
    EXPECT_EQ(scrape(port, "beacon_writer_events_acked_total"), 0);
    auto t0 = Clock::now();
    writer.signal(sig);
    auto rc = writer.wait(30s);
    ASSERT_TRUE(rc.has_value()) << name << ": writer did not exit\n" << writer.output();
    EXPECT_EQ(*rc, 0) << name << "\n" << writer.output();
    double took = seconds_since(t0);
    EXPECT_LT(took, 10) << name;
    auto j = f.job(job);
    ASSERT_TRUE(j.has_value());
    EXPECT_EQ(j->status, "completed") << name << ": the held batch was committed before the exit";
    expect_exact(f, job, 8, 8);
    std::cout << "[figures] writer " << name << " holding a batch of 16 events: committed, exit 0 after " << took
              << " s\n";
  }
}

// Long inference: requests of 8 s with a 2 s AMQP heartbeat. The owner
// thread services heartbeats while they run, so no connection is lost.
TEST(Resilience, InferenceLongerThanTheHeartbeatKeepsTheConnection) {
  ScopedEnv heartbeat("BEACON_AMQP_HEARTBEAT_S", "2");
  Fleet f("res-heartbeat");
  f.start_sim({"--latency-ms", "8000"});
  auto region = "rhb-" + unique_suffix();
  f.write_endpoints({region});
  auto& writer = f.start_writer({"--metrics-addr", "127.0.0.1:0"});
  auto& worker = f.start_worker(region, {"--concurrency", "4", "--metrics-addr", "127.0.0.1:0"});
  int wport = logged_metrics_port(worker), pport = logged_metrics_port(writer);
  ASSERT_NE(wport, 0) << worker.output();
  ASSERT_NE(pport, 0) << writer.output();
  auto job = "res-heartbeat-" + unique_suffix();
  auto s = f.submit(numbered_spec({region}, {"m1"}, 4, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(f.wait_finished(job, 60s)) << f.logs_tail();
  expect_exact(f, job, 4, 4);
  EXPECT_NE(worker.output().find("heartbeat 2s"), std::string::npos) << "the broker granted the 2 s heartbeat\n"
                                                                     << worker.output();
  EXPECT_EQ(scrape(wport, "beacon_worker_broker_reconnects_total"), 0) << worker.output();
  EXPECT_EQ(scrape(wport, "beacon_worker_inference_attempts_total"), 4) << "endpoint metrics are served";
  EXPECT_EQ(scrape(wport, "beacon_worker_inference_latency_seconds_count"), 4);
  EXPECT_EQ(scrape(pport, "beacon_writer_broker_reconnects_total"), 0) << writer.output();
  EXPECT_EQ(sim_stat(f, "requests"), 4);
}

// Resume: everything killed mid-job, then the same submit again: only what
// is not completed is enqueued, and the job completes exactly. The operator
// restarts the progress-writer first, so the results that were already
// published are in Postgres before the submit decides what is done.
TEST(Resilience, ResumeAfterEverythingWasKilled) {
  Fleet f("res-resume");
  f.start_sim({"--latency-ms", "300", "--jitter-ms", "100"});
  auto region = "rre-" + unique_suffix();
  f.write_endpoints({region});
  auto& writer = f.start_writer();
  auto& w1 = f.start_worker(region, {"--concurrency", "4"});
  auto& w2 = f.start_worker(region, {"--concurrency", "4"});
  auto job = "res-resume-" + unique_suffix();
  auto spec = numbered_spec({region}, {"m1", "m2", "m3"}, 20, job);
  auto s = f.submit(spec, job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(eventually([&] { return f.executions(job).completed >= 15; }, 60s)) << f.logs_tail();
  w1.kill();
  w2.kill();
  writer.kill();

  // A sentinel event behind everything the killed parts published: once the
  // restarted writer applied it, it applied all of them (one writer, FIFO).
  auto sentinel = job + "-sentinel";
  auto sentinel_region = region + "-sentinel";
  ASSERT_EQ(f.submit(numbered_spec({sentinel_region}, {"m1"}, 1, sentinel), sentinel).exit_code, 0);
  ResultEvent mark;
  mark.event = EventKind::completed;
  mark.key = ExecutionKey{sentinel, sentinel_region, "m1", "q0000", 0};
  mark.worker_id = "test";
  mark.output = Output{"ok", Classification::answered, "stop", 1, 1};
  publish_raw({{std::string(amqp::kResultsExchange), std::string(amqp::kResultsRoutingKey), encode(mark), "", {}}});
  f.start_writer();
  ASSERT_TRUE(f.wait_finished(sentinel, 30s)) << "the restarted writer did not catch up\n" << f.logs_tail();
  delete_queue(amqp::exec_queue(sentinel_region));
  long done = f.executions(job).completed;
  ASSERT_LT(done, 60) << "the job must be killed mid-way";

  auto again = f.submit(spec, job);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.total, 60);
  EXPECT_EQ(again.skipped, done) << "completed executions are not enqueued again";
  EXPECT_EQ(again.enqueued, 60 - done);

  f.start_worker(region, {"--concurrency", "4"});
  f.start_worker(region, {"--concurrency", "4"});
  ASSERT_TRUE(f.wait_finished(job, 120s)) << f.logs_tail();
  expect_exact(f, job, 60, 60);
  long dups = sim_stat(f, "duplicates");
  std::cout << "[figures] resume: " << done << " completed before the kill, " << again.enqueued
            << " enqueued again; endpoint requests " << sim_stat(f, "requests") << " for 60 executions (" << dups
            << " duplicates)\n";
  auto sim_port = std::stoi(f.sim_url().substr(f.sim_url().rfind(':') + 1));
  EXPECT_LE(dups, 8) << "only the requests the killed workers held (2 x 4) may be paid twice\n"
                     << Fleet::http_get("127.0.0.1", sim_port, "/stats");
}

}  // namespace beacon::test

namespace beacon::test {

// rabbitmqctl's messages_unacknowledged for `queue` (-1 when it cannot tell).
long unacked(const std::string& queue) {
  auto ctl = require_env("BEACON_RABBITMQCTL");
  auto r = run({ctl, "list_queues", "-q", "--no-table-headers", "name", "messages_unacknowledged"}, {}, 30s);
  std::istringstream in(r.out);
  std::string name;
  long n = -1;
  while (in >> name >> n)
    if (name == queue) return n;
  return -1;
}

// Invariant 3 seen directly: a worker acks an execution message only after
// the broker confirmed its terminal event. The worker's connection is
// silenced (TCP gate blackhole) while its one inference runs: the answer is
// paid, the completed event cannot be confirmed, and the broker must still
// count the message unacked; after the cut it is redelivered, answered from
// the worker's own outcome, and the job completes with one endpoint call.
TEST(Resilience, ExecutionStaysUnackedUntilItsResultIsConfirmed) {
  auto url = require_env("BEACON_AMQP_URL");
  auto at = url.rfind('@');
  auto colon = url.rfind(':');
  ASSERT_TRUE(at != std::string::npos && colon > at) << url;
  // Worker and writer both go through the gate (the fleet hands its children
  // the URL it saw when it was made); the writer's silence changes nothing the
  // test asserts about the worker's ack.
  amqp::testing::TcpGate gate(url.substr(at + 1, colon - at - 1), std::stoi(url.substr(colon + 1)));
  ScopedEnv through_gate("BEACON_AMQP_URL", url.substr(0, at + 1) + "127.0.0.1:" + std::to_string(gate.port()));
  Fleet f("res-ack-confirm");
  f.start_sim({"--latency-ms", "3000"});
  auto region = "rac-" + unique_suffix();
  f.write_endpoints({region});
  f.start_writer();
  Process* worker = &f.start_worker(region, {"--concurrency", "1", "--metrics-addr", "127.0.0.1:0"});
  int port = logged_metrics_port(*worker);
  ASSERT_NE(port, 0) << worker->output();
  ASSERT_TRUE(eventually([&] { return is_ready(port); }, 30s)) << worker->output();
  auto job = "res-ack-confirm-" + unique_suffix();
  ASSERT_EQ(f.submit(numbered_spec({region}, {"m1"}, 1, job), job).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return try_sim_stat(f, "in_flight") == 1; }, 30s)) << f.logs_tail();
  gate.blackhole();
  // The answer is paid; its event is stuck behind the silenced connection.
  ASSERT_TRUE(eventually([&] { return try_sim_stat(f, "completed") == 1; }, 30s)) << f.logs_tail();
  const auto queue = amqp::exec_queue(region);
  // The broker's queue statistics are refreshed every few seconds: wait for them
  // (the silenced connection could not carry an ack, nor the heartbeats, which
  // give it 2 x 30 s before the broker drops it).
  long held = -1;
  EXPECT_TRUE(eventually([&] { return (held = unacked(queue)) == 1; }, 20s, 500ms))
      << "the broker shows " << held << " unacked messages: acked before its result event was confirmed";
  EXPECT_EQ(f.executions(job).completed, 0) << "no result event got through the silenced connection";
  gate.cut();  // the connection drops: the broker must give the message back
  ASSERT_TRUE(f.wait_finished(job, 60s)) << f.logs_tail();
  expect_exact(f, job, 1, 1);
  EXPECT_GE(scrape(port, "beacon_worker_broker_reconnects_total"), 1);
  EXPECT_EQ(sim_stat(f, "requests"), 1) << "the redelivery was answered without paying again";
  EXPECT_TRUE(eventually([&] { return queue_depth(queue) == 0 && unacked(queue) == 0; }, 30s)) << "acked at last";
}

}  // namespace beacon::test
