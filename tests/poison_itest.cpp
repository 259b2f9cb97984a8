// Issue 3: bad input never crashes a part and never vanishes (SPEC invariant
// 5), a message that keeps coming back is dead-lettered by the broker, and a
// finished execution never reaches the GPU again ("pay the GPU once").
#include <iostream>
#include <regex>

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

struct Poison {
  std::string what;
  std::string body;
  std::string reason;  // a fragment the x-beacon-reason header must contain
};

// A valid execution message for `key`, as beacon-producer would publish it.
std::string execution_body(const ExecutionKey& key, int submission = 1, const std::string& prompt = "What is 2+2?") {
  ExecutionMessage m;
  m.key = key;
  m.prompt = prompt;
  m.system_prompt = "You are a helpful assistant based in {region}.";
  m.enqueued_at = "2026-11-23T00:00:00Z";
  m.submission = submission;
  return encode(m);
}

std::string header(const amqp::Delivery& d, const std::string& name) {
  auto it = d.headers.find(name);
  return it == d.headers.end() ? "" : it->second;
}

// Publishes each poison with message id PREFIX-<i> to (exchange, key) and
// checks that every one reaches beacon.dead with its reason and source queue.
void expect_dead_lettered(const std::vector<Poison>& poisons, const std::string& exchange,
                          const std::string& routing_key, const std::string& source_queue, const std::string& prefix,
                          const Fleet& f) {
  std::vector<RawMessage> raw;
  for (std::size_t i = 0; i < poisons.size(); ++i)
    raw.push_back({exchange, routing_key, poisons[i].body, prefix + "-" + std::to_string(i), {}});
  publish_raw(raw);
  auto dead = take_dead_letters([&](const amqp::Delivery& d) { return d.message_id.rfind(prefix + "-", 0) == 0; },
                                poisons.size(), 60s);
  ASSERT_EQ(dead.size(), poisons.size()) << "every bad message ends in beacon.dead\n" << f.logs_tail();
  std::map<std::string, const amqp::Delivery*> by_id;
  for (const auto& d : dead) by_id[d.message_id] = &d;
  for (std::size_t i = 0; i < poisons.size(); ++i) {
    auto id = prefix + "-" + std::to_string(i);
    ASSERT_TRUE(by_id.count(id)) << poisons[i].what << ": not in beacon.dead";
    const auto& d = *by_id[id];
    auto reason = header(d, std::string(amqp::kReasonHeader));
    EXPECT_NE(reason.find(poisons[i].reason), std::string::npos)
        << poisons[i].what << ": reason header is '" << reason << "', expected it to mention '" << poisons[i].reason
        << "'";
    EXPECT_EQ(header(d, std::string(amqp::kSourceQueueHeader)), source_queue) << poisons[i].what;
    EXPECT_LE(d.body.size(), 64u * 1024) << poisons[i].what << ": a dead letter keeps at most 64 KiB of the body";
    EXPECT_EQ(d.body, poisons[i].body.substr(0, d.body.size())) << poisons[i].what << ": the body is kept";
  }
}

std::vector<Poison> poisons_for(const std::string& job, const std::string& region) {
  ExecutionKey key{job, region, "m1", "q1", 0};
  auto valid = execution_body(key);
  std::string v2 = std::regex_replace(valid, std::regex("^\\{\"v\":1"), "{\"v\":2");
  std::string huge = "{\"v\":1,\"pad\":\"" + std::string(10 * 1024 * 1024, 'x') + "\"}";
  ExecutionKey elsewhere{job, "some-other-region", "m1", "q1", 0};
  return {
      {"truncated JSON", valid.substr(0, valid.size() / 2), "invalid JSON"},
      {"wrong types", std::regex_replace(valid, std::regex("\"sample\":0"), "\"sample\":\"zero\""),
       "'sample' must be an integer"},
      {"10 MB body", huge, "exceeds the limit"},
      {"invalid UTF-8", "{\"v\":1,\"job_id\":\"" + job + "\",\"region\":\"" + region + "\",\"model_id\":\"m\xff\xfe\"}",
       "invalid JSON"},
      {"unknown v", v2, "unsupported wire version v=2"},
      {"missing fields", "{\"v\":1,\"job_id\":\"" + job + "\",\"region\":\"" + region + "\"}", "missing field"},
      {"wrong region", execution_body(elsewhere), "message for region 'some-other-region'"},
      {"empty body", "", "invalid JSON"},
  };
}

}  // namespace

TEST(Poison, MalformedExecutionMessagesAreDeadLetteredAndTheWorkerCarriesOn) {
  Fleet f("poison-exec");
  f.start_sim({"--latency-ms", "5"});
  auto region = "pex-" + unique_suffix();
  f.write_endpoints({region});
  f.start_writer();
  auto& worker = f.start_worker(region, {"--metrics-addr", "127.0.0.1:0"});
  int port = logged_metrics_port(worker);
  ASSERT_NE(port, 0) << worker.output();
  ASSERT_TRUE(eventually([&] { return is_ready(port); }, 30s)) << worker.output();

  auto job = "poison-exec-" + unique_suffix();
  auto poisons = poisons_for(job, region);
  auto prefix = "poison-exec-" + unique_suffix();
  expect_dead_lettered(poisons, std::string(amqp::kExecExchange), region, amqp::exec_queue(region), prefix, f);
  EXPECT_TRUE(eventually([&] { return try_scrape(port, "beacon_worker_messages_dead_lettered_total") == poisons.size(); },
                         10s))
      << "each dead letter is counted (" << scrape(port, "beacon_worker_messages_dead_lettered_total") << ")";
  auto log = worker.output();
  for (std::size_t i = 0; i < poisons.size(); ++i)
    EXPECT_NE(log.find("dead-lettering message " + prefix + "-" + std::to_string(i)), std::string::npos)
        << poisons[i].what << " is logged with its id";
  EXPECT_NE(log.find("region=some-other-region"), std::string::npos) << "logged with the ids it has";
  EXPECT_TRUE(worker.running()) << "bad input never stops the worker";
  EXPECT_EQ(sim_stat(f, "requests"), 0) << "no bad message reaches the endpoint";
  EXPECT_EQ(queue_depth(amqp::exec_queue(region)), 0);

  // ...and it still does its work.
  auto s = f.submit(numbered_spec({region}, {"m1"}, 3, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(f.wait_finished(job, 60s)) << f.logs_tail();
  expect_exact(f, job, 3, 3);
}

TEST(Poison, UnknownModelFailsOnceWithNoEndpointError) {
  Fleet f("poison-model");
  f.start_sim({"--latency-ms", "5"});
  auto region = "pmo-" + unique_suffix();
  f.write_endpoints({region});  // sets the fleet's endpoint file path; replaced next
  f.write_file("endpoints.json", "{\"endpoints\":[{\"region\":\"" + region + "\",\"model\":\"m-ok\",\"url\":\"" +
                                     f.sim_url() + "/v1\"}]}");
  f.start_writer();
  auto& worker = f.start_worker(region, {"--metrics-addr", "127.0.0.1:0"});
  int port = logged_metrics_port(worker);
  ASSERT_NE(port, 0) << worker.output();
  auto job = "poison-model-" + unique_suffix();
  auto s = f.submit(numbered_spec({region}, {"m-ok", "m-none"}, 3, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(f.wait_finished(job, 60s)) << f.logs_tail();

  auto j = f.job(job).value();
  EXPECT_EQ(j.status, "failed");
  auto e = f.executions(job);
  EXPECT_EQ(e.rows, 6);
  EXPECT_EQ(e.completed, 3);
  EXPECT_EQ(e.failed, 3);
  EXPECT_EQ(j.failed, 3);
  EXPECT_EQ(j.completed, 3);
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  auto r = tx.exec_params(
      "SELECT count(*), min(error->>'message') FROM executions WHERE job_id = $1 AND model_id = 'm-none' "
      "AND status = 'failed' AND error->>'kind' = 'no_endpoint'",
      job);
  EXPECT_EQ(r[0][0].as<long>(), 3) << "the error is stored with its kind";
  EXPECT_NE(std::string(r[0][1].c_str()).find("no endpoint configured for region"), std::string::npos)
      << "and a message: " << r[0][1].c_str();
  EXPECT_EQ(sim_stat(f, "requests"), 3) << "only m-ok reaches the endpoint";
  EXPECT_EQ(queue_depth(amqp::exec_queue(region)), 0) << "not retried forever: the messages are gone";
  EXPECT_EQ(scrape(port, "beacon_worker_messages_requeued_total"), 0);
  EXPECT_NE(worker.output().find("model=m-none"), std::string::npos) << "logged with the execution's ids";
}

TEST(Poison, MalformedResultEventsAreDeadLetteredAndTheWriterCarriesOn) {
  Fleet f("poison-events");
  f.start_sim({"--latency-ms", "5"});
  auto region = "pev-" + unique_suffix();
  f.write_endpoints({region});
  auto& writer = f.start_writer({"--metrics-addr", "127.0.0.1:0"});
  int port = logged_metrics_port(writer);
  ASSERT_NE(port, 0) << writer.output();
  ASSERT_TRUE(eventually([&] { return is_ready(port); }, 30s)) << writer.output();

  auto job = "poison-events-" + unique_suffix();
  ResultEvent ok;
  ok.event = EventKind::completed;
  ok.key = ExecutionKey{job, region, "m1", "q1", 0};
  ok.worker_id = "test";
  ok.output = Output{"4", Classification::answered, "stop", 1, 1};
  auto valid = encode(ok);
  std::vector<Poison> poisons{
      {"truncated JSON", valid.substr(0, valid.size() / 2), "invalid JSON"},
      {"unknown v", std::regex_replace(valid, std::regex("^\\{\"v\":1"), "{\"v\":7"), "unsupported wire version v=7"},
      {"unknown event", std::regex_replace(valid, std::regex("\"event\":\"completed\""), "\"event\":\"exploded\""),
       "field 'event'"},
      {"wrong types", std::regex_replace(valid, std::regex("\"sample\":0"), "\"sample\":[0]"),
       "'sample' must be an integer"},
      {"invalid UTF-8", "{\"v\":1,\"event\":\"completed\",\"job_id\":\"\xc3\x28\"}", "invalid JSON"},
      {"missing fields", "{\"v\":1,\"event\":\"completed\"}", "missing field"},
      {"body over kMaxEventBytes", "{\"v\":1,\"pad\":\"" + std::string(kMaxEventBytes, 'y') + "\"}",
       "oversized message"},
      {"execution never registered", valid, "no execution registered"},
  };
  auto prefix = "poison-event-" + unique_suffix();
  expect_dead_lettered(poisons, std::string(amqp::kResultsExchange), std::string(amqp::kResultsRoutingKey),
                       std::string(amqp::kResultsQueue), prefix, f);
  EXPECT_TRUE(eventually([&] { return try_scrape(port, "beacon_writer_dead_lettered_total") == poisons.size(); }, 10s))
      << "each dead letter is counted (" << scrape(port, "beacon_writer_dead_lettered_total") << ")";
  auto log = writer.output();
  for (std::size_t i = 0; i < poisons.size(); ++i)
    EXPECT_NE(log.find("dead-lettering result event " + prefix + "-" + std::to_string(i)), std::string::npos)
        << poisons[i].what << " is logged with its id";
  EXPECT_TRUE(writer.running()) << "bad input never stops the writer";

  // ...and it still applies real events.
  f.start_worker(region);
  auto s = f.submit(numbered_spec({region}, {"m1"}, 3, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(f.wait_finished(job, 60s)) << f.logs_tail();
  expect_exact(f, job, 3, 3);
}

// Quorum queues on RabbitMQ 3.10 have no delivery limit unless one is set:
// the queues the fleet declares carry x-delivery-limit, so a message that
// keeps coming back (here: a consumer that always rejects it) ends in
// beacon.dead instead of looping forever.
TEST(Poison, MessageRedeliveredPastTheLimitIsDeadLettered) {
  auto topo = amqp::topology_options_from_env();
  if (topo.queue_type == "classic") GTEST_SKIP() << "classic queues have no delivery limit (BEACON_QUEUE_TYPE=classic)";
  ASSERT_GT(topo.delivery_limit, 0) << "BEACON_DELIVERY_LIMIT=0 turns the limit off";
  Fleet f("poison-limit");
  f.start_sim({"--latency-ms", "5"});
  auto region = "pli-" + unique_suffix();
  f.write_endpoints({region});
  // The worker declares the region's queue as the fleet always does, then leaves.
  auto& worker = f.start_worker(region, {"--metrics-addr", "127.0.0.1:0"});
  int port = logged_metrics_port(worker);
  ASSERT_NE(port, 0) << worker.output();
  ASSERT_TRUE(eventually([&] { return is_ready(port); }, 30s)) << worker.output();
  ASSERT_EQ(worker.stop(30s), 0) << worker.output();

  auto id = "poison-limit-" + unique_suffix();
  publish_raw({{std::string(amqp::kExecExchange), region,
                execution_body(ExecutionKey{"poison-limit-job", region, "m1", "q1", 0}), id, {}}});
  std::size_t deliveries = 0;
  consume_settling(
      amqp::exec_queue(region),
      [&](const amqp::Delivery& d, bool&) {
        if (d.message_id == id) ++deliveries;
        return false;  // reject, requeue: "this consumer cannot handle it"
      },
      60s, 3s);
  std::cout << "[figures] delivery limit " << topo.delivery_limit << ": the message was delivered " << deliveries
            << " times before the broker dead-lettered it\n";
  EXPECT_GE(deliveries, static_cast<std::size_t>(topo.delivery_limit));
  EXPECT_LE(deliveries, static_cast<std::size_t>(topo.delivery_limit) + 1);
  EXPECT_EQ(queue_depth(amqp::exec_queue(region)), 0) << "the message left the queue";
  auto dead = take_dead_letters([&](const amqp::Delivery& d) { return d.message_id == id; }, 1, 30s);
  ASSERT_EQ(dead.size(), 1u) << "it ends in beacon.dead";
  EXPECT_EQ(header(dead[0], "x-first-death-reason"), "delivery_limit");
  EXPECT_EQ(header(dead[0], "x-first-death-queue"), amqp::exec_queue(region));
}

// Pay the GPU once: a redelivered message, and a re-submitted one
// (submission 2), whose execution is already completed are acked after a
// read-only look-up in Postgres, without calling the endpoint.
TEST(PayOnce, CompletedExecutionNeverReachesTheEndpointAgain) {
  Fleet f("payonce");
  f.start_sim({"--latency-ms", "5"});
  auto region = "pay-" + unique_suffix();
  f.write_endpoints({region});
  f.start_writer();
  auto& first = f.start_worker(region);
  auto job = "payonce-" + unique_suffix();
  auto spec = numbered_spec({region}, {"m1"}, 3, job);
  auto s = f.submit(spec, job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(f.wait_finished(job, 60s)) << f.logs_tail();
  ASSERT_EQ(sim_stat(f, "requests"), 3);
  ASSERT_EQ(first.stop(30s), 0) << first.output();

  // Copy A: the first submission's message, delivered once already (a
  // consumer took it and gave it back), so the broker flags it redelivered.
  auto id_a = "payonce-a-" + unique_suffix(), id_b = "payonce-b-" + unique_suffix();
  publish_raw({{std::string(amqp::kExecExchange), region,
                execution_body(ExecutionKey{job, region, "m1", "q0000", 0}, 1, "Question 0 of test " + job + "?"),
                id_a, {}}});
  bool seen = false;
  consume_settling(
      amqp::exec_queue(region),
      [&](const amqp::Delivery& d, bool& stop) {
        seen = d.message_id == id_a;
        stop = true;
        return false;
      },
      30s);
  ASSERT_TRUE(seen);
  // Copy B: a re-submit's message (submission 2), never delivered before.
  publish_raw({{std::string(amqp::kExecExchange), region,
                execution_body(ExecutionKey{job, region, "m1", "q0001", 0}, 2, "Question 1 of test " + job + "?"),
                id_b, {}}});

  auto& second = f.start_worker(region, {"--metrics-addr", "127.0.0.1:0"});
  int port = logged_metrics_port(second);
  ASSERT_NE(port, 0) << second.output();
  EXPECT_TRUE(eventually([&] { return try_scrape(port, "beacon_worker_skipped_already_completed_total") == 2; }, 30s))
      << "both copies are recognised as done\n" << second.output();
  EXPECT_TRUE(eventually([&] { return queue_depth(amqp::exec_queue(region)) == 0; }, 10s)) << "and acked";
  EXPECT_EQ(scrape(port, "beacon_worker_messages_acked_total"), 2);
  EXPECT_EQ(sim_stat(f, "requests"), 3) << "the GPU was paid once per execution";
  EXPECT_NE(second.output().find("model=m1 question=q0000 sample=0: already completed"), std::string::npos)
      << second.output();
  expect_exact(f, job, 3, 3);
}

// Without Postgres the preflight cannot tell, so a redelivered message runs:
// a possible duplicate call, never a stalled fleet.
TEST(PayOnce, PreflightWithoutDatabaseRunsTheMessage) {
  Fleet f("payonce-nodb");
  f.start_sim({"--latency-ms", "5"});
  auto region = "pnd-" + unique_suffix();
  f.write_endpoints({region});
  f.start_writer();
  auto job = "payonce-nodb-" + unique_suffix();
  // Registered and enqueued with no worker running; then delivered once and
  // given back, so it is redelivered.
  auto s = f.submit(numbered_spec({region}, {"m1"}, 1, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto taken = consume_settling(
      amqp::exec_queue(region), [&](const amqp::Delivery&, bool& stop) { stop = true; return false; }, 30s);
  ASSERT_EQ(taken, 1u);

  auto env = f.env();
  env["BEACON_DATABASE_URL"] = "postgresql://beacon@127.0.0.1:1/beacon";  // nothing listens on port 1
  Process worker({build_dir() + "/beacon-worker", "--region", region, "--metrics-addr", "127.0.0.1:0"}, env,
                 f.dir() + "/worker-nodb.log");
  int port = logged_metrics_port(worker);
  ASSERT_NE(port, 0) << worker.output();
  ASSERT_TRUE(f.wait_finished(job, 60s)) << worker.output() << f.logs_tail();
  expect_exact(f, job, 1, 1);
  EXPECT_EQ(scrape(port, "beacon_worker_preflight_unchecked_total"), 1) << worker.output();
  EXPECT_EQ(sim_stat(f, "requests"), 1);
  EXPECT_EQ(worker.stop(30s), 0) << worker.output();
}

}  // namespace beacon::test
