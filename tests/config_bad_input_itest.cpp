// Issue 8 items 9, 10 and 14: configuration is checked before anything is
// touched, bad values exit 2 naming the variable or flag, and no error path
// prints a password. Real binaries, real RabbitMQ and Postgres.
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include <beacon/amqp/topology.hpp>

#include "support/fleet.hpp"
#include "support/process.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

// A token no message may ever contain: every password below carries it.
constexpr const char* kSecret = "Zq9xK";

std::string program(const std::string& name) { return build_dir() + "/" + name; }

// AMQP URLs a user can get wrong; each carries kSecret in its password.
std::vector<std::string> bad_amqp_urls() {
  const std::string s = kSecret;
  return {"http://beacon:" + s + "@127.0.0.1:5672",
          "garbage" + s,
          "amqp://beacon:" + s + "@127.0.0.1:notaport",
          "amqp://beacon:" + s + "@:5672",
          "amqp://beacon:" + s + "@127.0.0.1:0",
          "amqp://beacon:" + s + "/slash@127.0.0.1:5672",
          "amqp://beacon:" + s + "?query@127.0.0.1:5672",
          "amqp://beacon:" + s + "@at@127.0.0.1:5672",
          // Nodes of one cluster that log in differently (issue 12).
          "amqp://beacon:" + s + "@127.0.0.1:5672,amqp://other:" + s + "@127.0.0.1:5673",
          require_env("BEACON_AMQP_URL") + ",amqp://beacon:" + s + "/x@other:5672"};
}

// Database URLs that libpq misreads or refuses; each carries kSecret in its password.
std::vector<std::string> bad_database_urls() {
  const std::string s = kSecret;
  return {"postgresql://beacon:" + s + "/slash@127.0.0.1:1/beacon",
          "postgresql://beacon:" + s + "@at@127.0.0.1:1/beacon",
          "postgresql://beacon:" + s + "@127.0.0.1:1/beacon?nosuchoption=1",
          "postgresql://beacon:" + s + "%zz@127.0.0.1:1/beacon",
          "mysql://beacon:" + s + "@127.0.0.1/beacon",
          "host=127.0.0.1 port=1 password=" + s + " with spaces dbname=beacon",
          "host=127.0.0.1 port=1 password='" + s + " unterminated"};
}

std::string spec_for(const std::string& region) {
  return R"({"models":["m1"],"regions":[")" + region + R"("],"questions":[{"id":"q1","prompt":"hi"}],"samples":2})";
}

bool job_row_exists(const std::string& job_id) {
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::nontransaction tx(c);
  return !tx.exec_params("SELECT 1 FROM jobs WHERE job_id = $1", job_id).empty() ||
         !tx.exec_params("SELECT 1 FROM executions WHERE job_id = $1", job_id).empty();
}

// True when beacon.exec.<region> does not exist on the broker at all.
bool region_queue_absent(const std::string& region) {
  amqp::Client client(amqp::ClientOptions{require_env("BEACON_AMQP_URL"), "config-itest"});
  client.connect();
  try {
    client.queue_message_count(amqp::exec_queue(region));
    return false;
  } catch (const amqp::ChannelClosed& e) {
    if (e.reply_code() == 404) return true;
    throw;
  }
}

void expect_rejected(const RunResult& r, const std::string& names, const std::string& what) {
  EXPECT_EQ(r.exit_code, 2) << what << "\nstderr: " << r.err;
  EXPECT_NE(r.err.find(names), std::string::npos) << what << ": the message must name " << names << "\n" << r.err;
  EXPECT_EQ(r.err.find(kSecret), std::string::npos) << what << ": the password was printed\n" << r.err;
  EXPECT_EQ(r.out.find(kSecret), std::string::npos) << what << ": the password was printed\n" << r.out;
}

class ConfigBadInput : public ::testing::Test {
 protected:
  ConfigBadInput() : fleet_("config") {}
  // An endpoint file for region cfg-r; nothing listens there, nothing is sent.
  std::string endpoints() {
    return fleet_.write_file("endpoints.json",
                             R"({"endpoints":[{"region":"cfg-r","model":"*","url":"http://127.0.0.1:9/v1"}]})");
  }
  Fleet fleet_;
};

TEST_F(ConfigBadInput, SubmitWithABadAmqpUrlExits2AndWritesNothing) {
  const std::string region = "cfg-" + unique_suffix();
  const std::string spec = fleet_.write_file("spec.json", spec_for(region));
  int n = 0;
  for (const std::string& url : bad_amqp_urls()) {
    const std::string job_id = "config-submit-" + unique_suffix() + "-" + std::to_string(++n);
    const RunResult r = run({program("beacon-producer"), "submit", spec, "--job-id", job_id}, {{"BEACON_AMQP_URL", url}});
    expect_rejected(r, "BEACON_AMQP_URL", "submit with " + std::to_string(n) + ". URL");
    if (url.find("@127.0.0.1:5673") != std::string::npos) {
      EXPECT_NE(r.err.find("node 2 of 2: its user name differs"), std::string::npos) << r.err;
    }
    EXPECT_FALSE(job_row_exists(job_id)) << "submit wrote job " << job_id << " before failing on its broker URL";
  }
  EXPECT_TRUE(region_queue_absent(region)) << "something declared or enqueued for region " << region;
}

TEST_F(ConfigBadInput, CancelWithABadAmqpUrlChangesNothing) {
  const std::string region = "cfg-" + unique_suffix();
  const std::string job_id = "config-cancel-" + unique_suffix();
  const SubmitSummary sub = fleet_.submit(spec_for(region), job_id);
  ASSERT_EQ(sub.exit_code, 0) << sub.err;
  const auto before = fleet_.job(job_id);
  ASSERT_TRUE(before.has_value());
  for (const std::string& url : bad_amqp_urls()) {
    const RunResult r = run({program("beacon-producer"), "cancel", job_id}, {{"BEACON_AMQP_URL", url}});
    expect_rejected(r, "BEACON_AMQP_URL", "cancel");
    const auto after = fleet_.job(job_id);
    ASSERT_TRUE(after.has_value());
    EXPECT_EQ(after->status, before->status) << "cancel changed the job before failing on its broker URL";
    EXPECT_EQ(fleet_.executions(job_id).cancelled, 0);
    EXPECT_EQ(fleet_.executions(job_id).pending, 2);
  }
}

TEST_F(ConfigBadInput, EveryProgramRefusesABadAmqpUrlNamingIt) {
  const std::string endpoints = this->endpoints();
  for (const std::string& url : bad_amqp_urls()) {
    const std::map<std::string, std::string> env = {{"BEACON_AMQP_URL", url}};
    expect_rejected(run({program("beacon-worker"), "--region", "cfg-r", "--endpoints", endpoints}, env, 30s),
                    "BEACON_AMQP_URL", "worker");
    expect_rejected(run({program("beacon-progress-writer")}, env, 30s), "BEACON_AMQP_URL", "progress-writer");
  }
}

TEST_F(ConfigBadInput, ABadDatabaseUrlIsRefusedEverywhereWithoutThePassword) {
  const std::string endpoints = this->endpoints();
  const std::string spec = fleet_.write_file("spec.json", spec_for("cfg-r"));
  for (const std::string& url : bad_database_urls()) {
    const std::map<std::string, std::string> env = {{"BEACON_DATABASE_URL", url}};
    expect_rejected(run({program("beacon-producer"), "status"}, env, 30s), "BEACON_DATABASE_URL", "status: " + url);
    expect_rejected(run({program("beacon-producer"), "migrate"}, env, 30s), "BEACON_DATABASE_URL", "migrate");
    expect_rejected(run({program("beacon-producer"), "submit", spec}, env, 30s), "BEACON_DATABASE_URL", "submit");
    expect_rejected(run({program("beacon-progress-writer")}, env, 30s), "BEACON_DATABASE_URL", "writer: " + url);
    expect_rejected(run({program("beacon-worker"), "--region", "cfg-r", "--endpoints", endpoints}, env, 30s),
                    "BEACON_DATABASE_URL", "worker: " + url);
  }
}

TEST_F(ConfigBadInput, UnreachableHostsAreReportedWithoutThePassword) {
  const std::string s = kSecret;
  const std::string db = "postgresql://beacon:" + s + "@127.0.0.1:1/beacon";
  const RunResult status = run({program("beacon-producer"), "status"}, {{"BEACON_DATABASE_URL", db}}, 60s);
  EXPECT_EQ(status.exit_code, 3) << status.err;
  EXPECT_EQ(status.err.find(kSecret), std::string::npos) << status.err;

  const RunResult submit = run({program("beacon-producer"), "submit", fleet_.write_file("s.json", spec_for("cfg-r"))},
                               {{"BEACON_AMQP_URL", "amqp://beacon:" + s + "@127.0.0.1:1"}}, 120s);
  EXPECT_EQ(submit.exit_code, 3) << submit.err;
  EXPECT_EQ(submit.err.find(kSecret), std::string::npos) << submit.err;

  // The long-running parts keep running and retry (the worker reconnects with
  // backoff; the writer tries the database again with its first batch): what
  // they log names the host, never the password.
  Process writer({program("beacon-progress-writer")}, {{"BEACON_DATABASE_URL", db}}, fleet_.dir() + "/writer.log");
  Process worker({program("beacon-worker"), "--region", "cfg-r", "--endpoints", endpoints()},
                 {{"BEACON_AMQP_URL", "amqp://beacon:" + s + "@127.0.0.1:1"}}, fleet_.dir() + "/worker.log");
  auto attempts = [](Process& p) {
    const std::string out = p.output();
    std::size_t n = 0;
    for (std::size_t at = out.find("127.0.0.1:1"); at != std::string::npos; at = out.find("127.0.0.1:1", at + 1)) ++n;
    return n;
  };
  EXPECT_TRUE(eventually([&] { return attempts(writer) >= 1; }, 60s)) << "writer never retried:\n" << writer.output();
  EXPECT_TRUE(eventually([&] { return attempts(worker) >= 2; }, 60s)) << "worker never retried:\n" << worker.output();
  EXPECT_EQ(writer.stop(30s), 0);
  EXPECT_EQ(worker.stop(30s), 0);
  EXPECT_EQ(writer.output().find(kSecret), std::string::npos) << writer.output();
  EXPECT_EQ(worker.output().find(kSecret), std::string::npos) << worker.output();
}

TEST_F(ConfigBadInput, UnknownFlagOrVariableValuesExit2BeforeAnythingStarts) {
  const std::string endpoints = this->endpoints();
  const std::vector<std::string> worker = {program("beacon-worker"), "--region", "cfg-r", "--endpoints", endpoints};
  auto with = [](std::vector<std::string> argv, std::vector<std::string> extra) {
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  };
  expect_rejected(run(with(worker, {"--log-format", "xml"}), {}, 30s), "--log-format", "worker --log-format xml");
  expect_rejected(run(with(worker, {"--log-level", "loud"}), {}, 30s), "--log-level", "worker --log-level loud");
  expect_rejected(run(with(worker, {"--concurrency", "many"}), {}, 30s), "--concurrency", "worker --concurrency many");
  expect_rejected(run(with(worker, {"--metrics-addr", "nowhere"}), {}, 30s), "--metrics-addr", "worker --metrics-addr");
  expect_rejected(run(worker, {{"BEACON_QUEUE_TYPE", "foo"}}, 30s), "BEACON_QUEUE_TYPE", "worker BEACON_QUEUE_TYPE");
  expect_rejected(run(worker, {{"BEACON_AMQP_HEARTBEAT_S", "soon"}}, 30s), "BEACON_AMQP_HEARTBEAT_S", "worker heartbeat");
  expect_rejected(run(worker, {{"BEACON_DELIVERY_LIMIT", "-1"}}, 30s), "BEACON_DELIVERY_LIMIT", "worker limit");
  expect_rejected(run({program("beacon-progress-writer"), "--log-format", "xml"}, {}, 30s), "--log-format", "writer");
  expect_rejected(run({program("beacon-progress-writer"), "--batch-size", "lots"}, {}, 30s), "--batch-size", "writer");
  expect_rejected(run({program("beacon-progress-writer")}, {{"BEACON_QUEUE_TYPE", "foo"}}, 30s), "BEACON_QUEUE_TYPE",
                  "writer BEACON_QUEUE_TYPE");
  expect_rejected(run({program("beacon-progress-writer")}, {{"BEACON_METRICS_ADDR", "nowhere"}}, 30s),
                  "BEACON_METRICS_ADDR", "writer BEACON_METRICS_ADDR");
  expect_rejected(run({program("beacon-infer-sim"), "--port", "0", "--log-format", "xml"}, {}, 30s), "--log-format",
                  "infer-sim");

  const std::string region = "cfg-" + unique_suffix();
  const std::string job_id = "config-env-" + unique_suffix();
  const RunResult r = run({program("beacon-producer"), "submit", fleet_.write_file("e.json", spec_for(region)),
                           "--job-id", job_id},
                          {{"BEACON_QUEUE_TYPE", "foo"}}, 30s);
  expect_rejected(r, "BEACON_QUEUE_TYPE", "submit BEACON_QUEUE_TYPE");
  EXPECT_FALSE(job_row_exists(job_id));
  EXPECT_TRUE(region_queue_absent(region));
}

TEST_F(ConfigBadInput, SubmitBeforeMigrateSaysRunMigrate) {
  // A database of its own, never migrated.
  const std::string base = require_env("BEACON_DATABASE_URL");
  const std::string name = "beacon_nomigrate_" + unique_suffix();
  {
    pqxx::connection c(base);
    pqxx::nontransaction tx(c);
    tx.exec("CREATE DATABASE " + tx.quote_name(name));
  }
  const std::size_t slash = base.rfind('/');
  const std::size_t query = base.find('?', slash);
  const std::string url = base.substr(0, slash + 1) + name + (query == std::string::npos ? "" : base.substr(query));
  const std::string region = "cfg-" + unique_suffix();
  const std::map<std::string, std::string> env = {{"BEACON_DATABASE_URL", url}};
  const RunResult submit = run({program("beacon-producer"), "submit", fleet_.write_file("m.json", spec_for(region))}, env);
  const RunResult status = run({program("beacon-producer"), "status"}, env);
  const RunResult cancel = run({program("beacon-producer"), "cancel", "some-job"}, env);
  {
    pqxx::connection c(base);
    pqxx::nontransaction tx(c);
    tx.exec("DROP DATABASE " + tx.quote_name(name) + " WITH (FORCE)");
  }
  for (const RunResult* r : {&submit, &status, &cancel}) {
    EXPECT_EQ(r->exit_code, 3) << r->err;
    EXPECT_NE(r->err.find("run beacon-producer migrate first"), std::string::npos) << r->err;
  }
  EXPECT_TRUE(region_queue_absent(region));
}

}  // namespace
}  // namespace beacon::test
