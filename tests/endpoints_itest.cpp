// Issue 4 end to end: inference endpoints that misbehave the way real GPU
// servers do, behind the real producer, worker and progress-writer, with the
// real RabbitMQ and Postgres of scripts/test.sh. beacon-infer-sim plays the
// endpoint; its failure modes are set at start (--mode) or at run time
// (POST /admin/mode), and its /stats says what it received.
//
// Every test has its own fleet, sim and region (queues are per region), and
// lowers backoff and timeouts through the endpoint file's defaults so the
// whole file runs in about a minute and a half.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <beacon/amqp/client.hpp>
#include <beacon/amqp/topology.hpp>
#include "test_certs.hpp"

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Small numbers so retries take milliseconds, not the production seconds.
constexpr const char* kFastDefaults =
    R"({"timeout_s": 10, "connect_timeout_s": 5, "backoff_initial_ms": 50, "backoff_max_ms": 500,)"
    R"( "max_attempts": 8, "circuit_failure_threshold": 5, "circuit_open_s": 1})";

int port_of(const std::string& url) {
  auto colon = url.rfind(':');
  return std::stoi(url.substr(colon + 1));
}

struct SimStats {
  long requests = -1, completed = -1, completed_duplicates = -1, in_flight = -1, max_in_flight = -1;
  std::map<std::string, long> by_status;
  long status(const std::string& s) const {
    auto it = by_status.find(s);
    return it == by_status.end() ? 0 : it->second;
  }
  std::string raw;
};

// GET over HTTPS trusting only `ca_pem`; "" on any failure.
std::string https_get(int port, const std::string& target, const std::string& ca_pem) {
  namespace beast = boost::beast;
  namespace ssl = boost::asio::ssl;
  try {
    boost::asio::io_context io;
    ssl::context ctx(ssl::context::tls_client);
    ctx.add_certificate_authority(boost::asio::buffer(ca_pem));
    ctx.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
    beast::get_lowest_layer(stream).expires_after(10s);
    beast::get_lowest_layer(stream).connect(
        boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    stream.handshake(ssl::stream_base::client);
    beast::http::request<beast::http::empty_body> req{beast::http::verb::get, target, 11};
    req.set(beast::http::field::host, "127.0.0.1");
    beast::http::write(stream, req);
    beast::flat_buffer buf;
    beast::http::response<beast::http::string_body> res;
    beast::http::read(stream, buf, res);
    return res.body();
  } catch (const std::exception&) {
    return "";
  }
}

SimStats parse_stats(std::string raw) {
  SimStats s;
  s.raw = std::move(raw);
  rapidjson::Document d;
  d.Parse(s.raw.c_str());
  if (d.HasParseError() || !d.IsObject()) return s;
  auto get = [&](const char* k) { return d.HasMember(k) && d[k].IsInt64() ? d[k].GetInt64() : -1; };
  s.requests = get("requests");
  s.completed = get("completed");
  s.completed_duplicates = get("completed_duplicates");
  s.in_flight = get("in_flight");
  s.max_in_flight = get("max_in_flight");
  if (d.HasMember("by_status") && d["by_status"].IsObject())
    for (auto& m : d["by_status"].GetObject()) s.by_status[m.name.GetString()] = m.value.GetInt64();
  return s;
}

SimStats sim_stats(int port) { return parse_stats(Fleet::http_get("127.0.0.1", port, "/stats")); }
SimStats sim_stats(Fleet& f) { return sim_stats(port_of(f.sim_url())); }

// POST /admin/mode; fails the test unless the sim took it.
void set_mode(Fleet& f, const std::string& mode_json) {
  auto r = Fleet::http_post("127.0.0.1", port_of(f.sim_url()), "/admin/mode", mode_json);
  ASSERT_NE(r.find("\"mode\""), std::string::npos) << "sim refused mode " << mode_json << ": " << r;
}

// An endpoint file from explicit entries (JSON objects without the braces'
// surroundings): {"defaults": D, "endpoints": [E1, E2, ...]}.
std::string endpoint_file(Fleet& f, const std::string& name, const std::vector<std::string>& entries,
                          const std::string& defaults = kFastDefaults) {
  std::ostringstream s;
  s << "{\"defaults\": " << defaults << ", \"endpoints\": [";
  for (std::size_t i = 0; i < entries.size(); ++i) s << (i ? ",\n" : "\n") << entries[i];
  s << "]}";
  return f.write_file(name, s.str());
}

std::string entry(const std::string& region, const std::string& model, const std::string& url,
                  const std::string& extra = "") {
  return R"({"region":")" + region + R"(","model":")" + model + R"(","url":")" + url + "\"" +
         (extra.empty() ? "" : "," + extra) + "}";
}

std::string json_list(const std::vector<std::string>& items) {
  std::string s = "[";
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ",\"" : "\"") + items[i] + "\"";
  return s + "]";
}

std::string spec(const std::string& region, const std::vector<std::string>& models,
                 const std::vector<std::string>& questions, int samples = 1) {
  return R"({"regions":[")" + region + R"("],"models":)" + json_list(models) +
         R"(,"questions":)" + json_list(questions) + R"(,"samples":)" + std::to_string(samples) +
         R"(,"system_prompt":"You are a helpful assistant based in {region}.","params":{"temperature":0.1,"max_tokens":256}})";
}

const std::vector<std::string> kEightQuestions{"tiananmen_neutral", "taiwan_status",  "hongkong_2019",
                                               "math_basic",        "geography_basic", "identity_basic",
                                               "greatest_invention", "greatest_leader"};

// One executions row as the database holds it.
struct Row {
  std::string status, error_kind, error_message, receipt, output_text;
  int attempts = 0, http_status = 0;
  double run_seconds = 0;  // completed_at - started_at
  bool found = false;
};

Row row(const std::string& job, const std::string& model, const std::string& question, int sample = 0) {
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  auto r = tx.exec_params(
      "SELECT status, coalesce(error->>'kind', ''), coalesce(error->>'message', ''), coalesce(receipt::text, ''), "
      "coalesce(output->>'text', ''), attempts, coalesce((receipt->>'http_status')::int, 0), "
      "coalesce(extract(epoch FROM completed_at - started_at)::float8, -1) "
      "FROM executions WHERE job_id=$1 AND model_id=$2 AND question_id=$3 AND sample=$4",
      job, model, question, sample);
  Row x;
  if (r.empty()) return x;
  x.found = true;
  x.status = r[0][0].as<std::string>();
  x.error_kind = r[0][1].as<std::string>();
  x.error_message = r[0][2].as<std::string>();
  x.receipt = r[0][3].as<std::string>();
  x.output_text = r[0][4].as<std::string>();
  x.attempts = r[0][5].as<int>();
  x.http_status = r[0][6].as<int>();
  x.run_seconds = r[0][7].as<double>();
  return x;
}

long sum_attempts(const std::string& job) {
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  return tx.exec_params1("SELECT coalesce(sum(attempts), 0) FROM executions WHERE job_id=$1", job)[0].as<long>();
}

long count_of(const std::string& text, const std::string& needle) {
  long n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + needle.size())) ++n;
  return n;
}

// Sets an environment variable for this process (so for every child it
// starts) until the end of the scope.
class EnvVar {
 public:
  EnvVar(std::string name, const std::string& value) : name_(std::move(name)) {
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~EnvVar() { ::unsetenv(name_.c_str()); }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;

 private:
  std::string name_;
};

// A writer and one worker for `region` reading `endpoints`; the job is
// submitted and awaited by the caller.
Process& start_parts(Fleet& f, const std::string& region, const std::string& endpoints,
                     std::vector<std::string> worker_args = {}) {
  f.start_writer();
  worker_args.insert(worker_args.end(), {"--endpoints", endpoints});
  return f.start_worker(region, worker_args);
}

// Submits, waits for the job to finish, checks the counters against the rows.
void run_job(Fleet& f, const std::string& spec_json, const std::string& job, std::chrono::seconds timeout = 60s) {
  auto s = f.submit(spec_json, job);
  ASSERT_EQ(s.exit_code, 0) << s.out << s.err;
  ASSERT_TRUE(f.wait_finished(job, timeout)) << "job " << job << " did not finish in " << timeout.count() << " s\n"
                                             << f.logs_tail();
  auto j = f.job(job).value();
  auto e = f.executions(job);
  EXPECT_EQ(e.rows, s.total);
  EXPECT_EQ(e.distinct_keys, s.total);
  EXPECT_EQ(j.completed, e.completed);
  EXPECT_EQ(j.failed, e.failed);
  EXPECT_EQ(e.completed + e.failed, s.total) << "every row terminal";
}

}  // namespace

// 30 % of requests get 503: each is retried with backoff until it succeeds,
// no execution is marked failed, and every retry is visible both at the sim
// (503s) and in the rows (attempts sum up to the requests the sim saw).
TEST(Endpoints, ThirtyPercent503sAreRetriedAndTheJobCompletesWithNoneFailed) {
  Fleet f("ep-503");
  f.start_sim({"--fail-rate", "0.3", "--seed", "11", "--latency-ms", "20", "--jitter-ms", "10"});
  auto region = "ep-503-" + unique_suffix();
  start_parts(f, region, endpoint_file(f, "endpoints.json", {entry(region, "*", f.sim_url() + "/v1")}),
              {"--concurrency", "8"});
  auto job = "ep-503-" + unique_suffix();
  ASSERT_NO_FATAL_FAILURE(run_job(f, spec(region, {"llama3.2-1b", "qwen2.5-1.5b", "mistral-7b"}, kEightQuestions),
                                  job, 90s));

  auto j = f.job(job).value();
  auto e = f.executions(job);
  EXPECT_EQ(j.status, "completed");
  EXPECT_EQ(e.completed, 24);
  EXPECT_EQ(e.failed, 0);
  auto st = sim_stats(f);
  EXPECT_GE(st.status("503"), 3) << "the sim should have failed about 30 % of requests: " << st.raw;
  EXPECT_EQ(st.status("200"), 24) << st.raw;
  EXPECT_EQ(st.requests, 24 + st.status("503")) << st.raw;
  EXPECT_EQ(st.completed_duplicates, 0) << "no execution paid twice: " << st.raw;
  EXPECT_EQ(sum_attempts(job), st.requests) << "executions.attempts counts every request sent";
}

// The endpoint process is stopped for 20 s, then started again on the same
// port. Meanwhile nothing is marked failed, the circuit opens (the worker
// logs it and /metrics shows it) so the worker probes instead of hammering,
// the worker holds no more than --concurrency messages, and once the
// endpoint is back the circuit closes and the job completes.
TEST(Endpoints, EndpointDownTwentySecondsFailsNothingAndTheJobCompletesWhenItIsBack) {
  Fleet f("ep-down");
  const std::vector<std::string> sim_args{"--latency-ms", "300"};
  auto url = f.start_sim(sim_args);
  const int port = port_of(url);
  auto region = "ep-down-" + unique_suffix();
  // Failed probes spend no attempts (docs/endpoints.md, "outages"); a
  // request spends at most the failures before the circuit opens
  // (threshold 3 < max_attempts 12). tests/infer_outage_itest.cpp rides out
  // an outage longer than max_attempts x circuit_open_s.
  auto& worker = start_parts(
      f, region,
      endpoint_file(f, "endpoints.json", {entry(region, "*", url + "/v1")},
                    R"({"timeout_s": 10, "connect_timeout_s": 2, "backoff_initial_ms": 100, "backoff_max_ms": 1000,)"
                    R"( "max_attempts": 12, "circuit_failure_threshold": 3, "circuit_open_s": 4})"),
      {"--concurrency", "4", "--metrics-addr", "127.0.0.1:0"});
  const int metrics = logged_metrics_port(worker);
  ASSERT_NE(metrics, 0) << worker.output();
  auto job = "ep-down-" + unique_suffix();
  // 32 distinct prompts (no samples: the sim would count a second sample of
  // the same prompt as a duplicate answer).
  auto s = f.submit(spec(region, {"llama3.2-1b", "qwen2.5-1.5b", "mistral-7b", "gemma2-2b"}, kEightQuestions), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_EQ(s.total, 32);

  // Take the endpoint away mid-job.
  ASSERT_TRUE(eventually([&] { return f.executions(job).completed >= 4; }, 60s))
      << "no progress before the outage\n" << f.logs_tail();
  ASSERT_EQ(f.sim().stop(10s), 0) << "sim did not stop cleanly";
  const auto down_at = std::chrono::steady_clock::now();
  const long completed_at_outage = f.executions(job).completed;

  // 20 s of outage: watch that nothing fails, that the circuit opens, and
  // that the worker holds no more than --concurrency messages (the rest
  // wait in RabbitMQ).
  amqp::Client broker(amqp::ClientOptions{require_env("BEACON_AMQP_URL"), "endpoints-test"});
  broker.connect();
  bool circuit_opened = false, circuit_state_open = false;
  long checks = 0;
  while (std::chrono::steady_clock::now() - down_at < 20s) {
    auto e = f.executions(job);
    auto j = f.job(job).value();
    ASSERT_EQ(e.failed, 0) << "an execution was marked failed while the endpoint was down\n" << f.logs_tail();
    ASSERT_EQ(j.failed, 0);
    ASSERT_NE(j.status, "failed");
    const long ready = broker.queue_message_count(amqp::exec_queue(region));
    ASSERT_GE(ready + e.completed + 4, 32) << "the worker took more than --concurrency messages";
    circuit_opened = circuit_opened || worker.output().find("circuit open") != std::string::npos;
    circuit_state_open = circuit_state_open || try_scrape(metrics, "beacon_worker_endpoint_circuit_state") == 2;
    ++checks;
    std::this_thread::sleep_for(250ms);  // sampling an invariant over the outage, not synchronising
  }
  broker.close();
  EXPECT_GT(checks, 10);
  EXPECT_TRUE(circuit_opened) << "the worker never reported an open circuit\n" << worker.output();
  // One probe per circuit_open_s (4 s): the circuit re-opens about 5 times
  // in 20 s, it does not hammer the dead endpoint.
  EXPECT_LE(count_of(worker.output(), "circuit open"), 8) << worker.output();
  EXPECT_TRUE(circuit_state_open) << "beacon_worker_endpoint_circuit_state never showed 2 (open)";
  EXPECT_GE(scrape(metrics, "beacon_worker_endpoint_circuit_opened_total"), 1);
  EXPECT_GE(scrape(metrics, "beacon_worker_inference_errors_total"), 3) << "connect / reset failures are counted";
  EXPECT_LE(f.executions(job).completed, completed_at_outage + 4)
      << "nothing but requests already answered may complete while the endpoint is down";
  EXPECT_NE(f.job(job)->status, "completed");

  // Back on the same port: the next probe closes the circuit and the rest runs.
  std::vector<std::string> argv{build_dir() + "/beacon-infer-sim", "--port", std::to_string(port)};
  argv.insert(argv.end(), sim_args.begin(), sim_args.end());
  Process sim2(argv, f.env(), f.dir() + "/sim-restarted.log");
  ASSERT_TRUE(eventually([&] { return sim2.output().find("listening on") != std::string::npos || !sim2.running(); },
                         20s));
  ASSERT_TRUE(sim2.running()) << "the sim could not listen on port " << port << " again: " << sim2.output();

  ASSERT_TRUE(f.wait_finished(job, 90s)) << "job did not finish after the endpoint came back\n"
                                          << f.logs_tail() << sim2.output();
  auto j = f.job(job).value();
  auto e = f.executions(job);
  EXPECT_EQ(j.status, "completed");
  EXPECT_EQ(e.completed, 32);
  EXPECT_EQ(e.failed, 0);
  EXPECT_EQ(e.distinct_keys, 32);
  EXPECT_NE(worker.output().find("circuit closed"), std::string::npos) << worker.output();
  EXPECT_TRUE(eventually([&] { return try_scrape(metrics, "beacon_worker_endpoint_circuit_state") == 0; }, 10s))
      << "the circuit metric did not return to 0 (closed)";
  auto st = sim_stats(port);
  EXPECT_GE(st.completed, 32 - completed_at_outage - 4) << st.raw;
  EXPECT_EQ(st.completed_duplicates, 0) << st.raw;
  EXPECT_EQ(sim2.stop(10s), 0);
}

// A 400 is the caller's fault: no retry. The row is failed with kind http,
// the status and an excerpt of the body, and the sim saw one request.
TEST(Endpoints, BadRequestFailsAtOnceWithStatusAndBodyStored) {
  Fleet f("ep-400");
  f.start_sim({"--mode", "bad_request"});
  auto region = "ep-400-" + unique_suffix();
  start_parts(f, region, endpoint_file(f, "endpoints.json", {entry(region, "*", f.sim_url() + "/v1")}));
  auto job = "ep-400-" + unique_suffix();
  ASSERT_NO_FATAL_FAILURE(run_job(f, spec(region, {"llama3.2-1b"}, {"math_basic"}), job));

  EXPECT_EQ(f.job(job)->status, "failed");
  auto r = row(job, "llama3.2-1b", "math_basic");
  ASSERT_TRUE(r.found);
  EXPECT_EQ(r.status, "failed");
  EXPECT_EQ(r.error_kind, "http");
  EXPECT_NE(r.error_message.find("HTTP 400"), std::string::npos) << r.error_message;
  EXPECT_NE(r.error_message.find("simulated bad request"), std::string::npos) << "body excerpt: " << r.error_message;
  EXPECT_LE(r.error_message.size(), 1024u) << "the excerpt is bounded";
  EXPECT_EQ(r.http_status, 400) << r.receipt;
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(sim_stats(f).requests, 1) << "a 400 is not retried";
}

// 429 with Retry-After: 1 twice: the worker waits at least the second the
// server asked for each time (its own backoff here is 50-100 ms), then
// completes.
TEST(Endpoints, RateLimitedRequestWaitsForRetryAfterThenCompletes) {
  Fleet f("ep-429");
  f.start_sim({"--mode", "rate429", "--mode-count", "2", "--retry-after-s", "1"});
  auto region = "ep-429-" + unique_suffix();
  start_parts(f, region,
              endpoint_file(f, "endpoints.json", {entry(region, "*", f.sim_url() + "/v1")},
                            R"({"backoff_initial_ms": 50, "backoff_max_ms": 3000, "max_attempts": 5})"));
  auto job = "ep-429-" + unique_suffix();
  ASSERT_NO_FATAL_FAILURE(run_job(f, spec(region, {"llama3.2-1b"}, {"math_basic"}), job));

  auto r = row(job, "llama3.2-1b", "math_basic");
  EXPECT_EQ(r.status, "completed");
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.output_text, "2 + 2 = 4.");
  EXPECT_GE(r.run_seconds, 1.9) << "two Retry-After: 1 must cost at least two seconds";
  auto st = sim_stats(f);
  EXPECT_EQ(st.status("429"), 2) << st.raw;
  EXPECT_EQ(st.status("200"), 1) << st.raw;
  EXPECT_EQ(st.requests, 3) << st.raw;
}

// Answers slower than timeout_s: the attempt is abandoned and retried; when
// every attempt is too slow the execution fails with kind timeout after
// max_attempts requests.
TEST(Endpoints, SlowerThanTheTimeoutIsRetriedThenFailsWithKindTimeout) {
  Fleet f("ep-slow");
  f.start_sim({"--latency-ms", "20"});
  auto region = "ep-slow-" + unique_suffix();
  start_parts(f, region,
              endpoint_file(f, "endpoints.json", {entry(region, "*", f.sim_url() + "/v1")},
                            R"({"timeout_s": 1, "backoff_initial_ms": 50, "backoff_max_ms": 200, "max_attempts": 3})"));

  // Two slow answers, then a normal one: completes on the third attempt.
  set_mode(f, R"({"mode":"slow","delay_ms":4000,"count":2})");
  auto job1 = "ep-slow1-" + unique_suffix();
  ASSERT_NO_FATAL_FAILURE(run_job(f, spec(region, {"llama3.2-1b"}, {"math_basic"}), job1));
  auto r1 = row(job1, "llama3.2-1b", "math_basic");
  EXPECT_EQ(r1.status, "completed");
  EXPECT_EQ(r1.attempts, 3);
  EXPECT_GE(r1.run_seconds, 1.9) << "two attempts of timeout_s 1 each";
  EXPECT_EQ(sim_stats(f).requests, 3);

  // Always slow: three timeouts, then failed with kind timeout.
  set_mode(f, R"({"mode":"slow","delay_ms":4000})");
  auto job2 = "ep-slow2-" + unique_suffix();
  ASSERT_NO_FATAL_FAILURE(run_job(f, spec(region, {"llama3.2-1b"}, {"geography_basic"}), job2));
  auto r2 = row(job2, "llama3.2-1b", "geography_basic");
  EXPECT_EQ(r2.status, "failed");
  EXPECT_EQ(r2.error_kind, "timeout") << r2.error_message;
  EXPECT_EQ(r2.attempts, 3);
  EXPECT_EQ(sim_stats(f).requests, 6);
}

// A 200 whose body is not the JSON the protocol promises: failed at once
// with kind protocol (the same request would get the same answer).
TEST(Endpoints, MalformedJsonFailsAtOnceWithKindProtocol) {
  Fleet f("ep-malformed");
  f.start_sim({"--mode", "malformed"});
  auto region = "ep-malformed-" + unique_suffix();
  start_parts(f, region, endpoint_file(f, "endpoints.json", {entry(region, "*", f.sim_url() + "/v1")}));
  auto job = "ep-malformed-" + unique_suffix();
  ASSERT_NO_FATAL_FAILURE(run_job(f, spec(region, {"llama3.2-1b"}, {"math_basic"}), job));
  auto r = row(job, "llama3.2-1b", "math_basic");
  EXPECT_EQ(r.status, "failed");
  EXPECT_EQ(r.error_kind, "protocol") << r.error_message;
  EXPECT_NE(r.error_message.find("body:"), std::string::npos) << "a body excerpt: " << r.error_message;
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(sim_stats(f).requests, 1);
}

// The connection dies halfway through the body (Content-Length promised
// more): kind reset, retried; the job completes.
TEST(Endpoints, ConnectionResetMidBodyIsRetried) {
  Fleet f("ep-reset");
  f.start_sim({"--mode", "reset", "--mode-count", "2", "--latency-ms", "20"});
  auto region = "ep-reset-" + unique_suffix();
  start_parts(f, region, endpoint_file(f, "endpoints.json", {entry(region, "*", f.sim_url() + "/v1")}));
  auto job = "ep-reset-" + unique_suffix();
  ASSERT_NO_FATAL_FAILURE(run_job(f, spec(region, {"llama3.2-1b"}, {"math_basic"}), job));
  auto r = row(job, "llama3.2-1b", "math_basic");
  EXPECT_EQ(r.status, "completed");
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.output_text, "2 + 2 = 4.");
  auto st = sim_stats(f);
  EXPECT_EQ(st.status("reset"), 2) << st.raw;
  EXPECT_EQ(st.requests, 3) << st.raw;
}

// A body larger than max_response_bytes: failed at once with kind oversized,
// the client stops reading (the sim sends ~20 MiB).
TEST(Endpoints, OversizedBodyFailsWithKindOversized) {
  Fleet f("ep-oversized");
  f.start_sim({"--mode", "oversized"});
  auto region = "ep-oversized-" + unique_suffix();
  start_parts(f, region,
              endpoint_file(f, "endpoints.json", {entry(region, "*", f.sim_url() + "/v1")},
                            R"({"backoff_initial_ms": 50, "backoff_max_ms": 500, "max_response_bytes": 1048576})"));
  auto job = "ep-oversized-" + unique_suffix();
  ASSERT_NO_FATAL_FAILURE(run_job(f, spec(region, {"llama3.2-1b"}, {"math_basic"}), job));
  auto r = row(job, "llama3.2-1b", "math_basic");
  EXPECT_EQ(r.status, "failed");
  EXPECT_EQ(r.error_kind, "oversized") << r.error_message;
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(sim_stats(f).requests, 1);
}

// 303 to a result URL (what Modal answers past 150 s): followed with GET,
// the answer there completes the execution.
TEST(Endpoints, SeeOtherRedirectToAResultUrlCompletes) {
  Fleet f("ep-303");
  f.start_sim({"--mode", "redirect", "--latency-ms", "20"});
  auto region = "ep-303-" + unique_suffix();
  start_parts(f, region, endpoint_file(f, "endpoints.json", {entry(region, "*", f.sim_url() + "/v1")}));
  auto job = "ep-303-" + unique_suffix();
  ASSERT_NO_FATAL_FAILURE(run_job(f, spec(region, {"llama3.2-1b"}, {"math_basic", "geography_basic"}), job));
  EXPECT_EQ(f.job(job)->status, "completed");
  auto r = row(job, "llama3.2-1b", "geography_basic");
  EXPECT_EQ(r.status, "completed");
  EXPECT_EQ(r.output_text, "The capital of France is Paris.");
  EXPECT_EQ(r.http_status, 200) << r.receipt;
  EXPECT_EQ(r.attempts, 1) << "a redirect is one attempt, not a retry";
  auto st = sim_stats(f);
  EXPECT_EQ(st.status("303"), 2) << st.raw;
  EXPECT_EQ(st.requests, 2) << st.raw;
  EXPECT_EQ(st.completed, 2) << st.raw;
}

// HTTPS with a CA of our own: trusted through the entry's ca_file, the
// request completes; the same server without ca_file is not trusted by the
// system store: failed with kind tls after one attempt (tls is never
// retried: a certificate does not fix itself), and no request reached HTTP.
TEST(Endpoints, HttpsWithCaFileCompletesAndWithoutItFailsWithKindTls) {
  Fleet f("ep-tls");
  auto pki = infer::testing::make_test_pki({"localhost"}, {"127.0.0.1"});
  auto ca = f.write_file("ca.pem", pki.ca_cert_pem);
  auto cert = f.write_file("server.pem", pki.server_cert_pem);
  auto key = f.write_file("server-key.pem", pki.server_key_pem);
  f.start_sim({"--tls-cert", cert, "--tls-key", key, "--latency-ms", "20"});
  const std::string url = "https://127.0.0.1:" + std::to_string(port_of(f.sim_url())) + "/v1";
  auto region = "ep-tls-" + unique_suffix();
  start_parts(f, region,
              endpoint_file(f, "endpoints.json",
                            {entry(region, "trusted", url, R"("ca_file":")" + ca + "\""),
                             entry(region, "untrusted", url)}));
  auto job = "ep-tls-" + unique_suffix();
  ASSERT_NO_FATAL_FAILURE(run_job(f, spec(region, {"trusted", "untrusted"}, {"math_basic"}), job));

  auto ok = row(job, "trusted", "math_basic");
  EXPECT_EQ(ok.status, "completed") << ok.error_message;
  EXPECT_EQ(ok.output_text, "2 + 2 = 4.");
  EXPECT_NE(ok.receipt.find("https://127.0.0.1:"), std::string::npos) << ok.receipt;
  auto bad = row(job, "untrusted", "math_basic");
  EXPECT_EQ(bad.status, "failed");
  EXPECT_EQ(bad.error_kind, "tls") << bad.error_message;
  EXPECT_NE(bad.error_message.find("certificate"), std::string::npos) << bad.error_message;
  EXPECT_EQ(bad.attempts, 1) << "tls is not retried";
  auto st = parse_stats(https_get(port_of(f.sim_url()), "/stats", pki.ca_cert_pem));
  EXPECT_EQ(st.requests, 1) << "only the trusted request got past the handshake: " << st.raw;
  EXPECT_EQ(f.job(job)->status, "failed");
}

// protocol "beacon" (Modal style) against the sim's POST /beacon, one of the
// two answers coming through a 303: both complete and the provider's receipt
// is kept in executions.receipt.
TEST(Endpoints, ModalStyleEndpointCompletesAndStoresTheProviderReceipt) {
  Fleet f("ep-modal");
  f.start_sim({"--latency-ms", "20"});
  auto region = "ep-modal-" + unique_suffix();
  start_parts(f, region,
              endpoint_file(f, "endpoints.json",
                            {entry(region, "*", f.sim_url() + "/beacon", R"("protocol":"beacon","timeout_s":180)")}));
  set_mode(f, R"({"mode":"redirect","count":1})");
  auto job = "ep-modal-" + unique_suffix();
  ASSERT_NO_FATAL_FAILURE(run_job(f, spec(region, {"mistral-7b"}, {"math_basic", "geography_basic"}), job));
  EXPECT_EQ(f.job(job)->status, "completed");

  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  auto rs = tx.exec_params(
      "SELECT question_id, status, output->>'text', receipt->>'provider_id', receipt->'provider_receipt'->>'id', "
      "receipt->'provider_receipt'->>'gpu', receipt->'provider_receipt'->>'region', receipt->>'endpoint' "
      "FROM executions WHERE job_id=$1 ORDER BY question_id",
      job);
  ASSERT_EQ(rs.size(), 2u);
  for (const auto& r : rs) {
    SCOPED_TRACE(r[0].as<std::string>());
    EXPECT_EQ(r[1].as<std::string>(), "completed");
    EXPECT_FALSE(r[2].is_null() || r[2].as<std::string>().empty());
    ASSERT_FALSE(r[4].is_null()) << "no provider receipt stored";
    EXPECT_EQ(r[3].as<std::string>(), r[4].as<std::string>()) << "provider_id comes from the receipt";
    EXPECT_EQ(r[5].as<std::string>(), "sim");
    EXPECT_EQ(r[6].as<std::string>(), region);
    EXPECT_EQ(r[7].as<std::string>(), f.sim_url() + "/beacon");
  }
  auto st = sim_stats(f);
  EXPECT_EQ(st.status("303"), 1) << st.raw;
  EXPECT_EQ(st.requests, 2) << st.raw;
}

// api_key_env: the worker sends the bearer token from its environment; a
// wrong key is a 401 that fails at once; the key appears in no log of the
// fleet (worker at trace level, sim at debug) and in no stored row.
TEST(Endpoints, ApiKeyFromTheEnvironmentIsSentAndNeverLogged) {
  const std::string secret = "sk-beacon-" + unique_suffix() + unique_suffix();
  const std::string wrong = "sk-wrong-" + unique_suffix() + unique_suffix();
  EnvVar sim_key("BEACON_EP_TEST_SIM_KEY", secret);
  EnvVar good_key("BEACON_EP_TEST_GOOD_KEY", secret);
  EnvVar wrong_key("BEACON_EP_TEST_WRONG_KEY", wrong);
  Fleet f("ep-apikey");
  f.start_sim({"--api-key-env", "BEACON_EP_TEST_SIM_KEY", "--log-level", "debug"});
  auto region = "ep-apikey-" + unique_suffix();
  start_parts(f, region,
              endpoint_file(f, "endpoints.json",
                            {entry(region, "keyed", f.sim_url() + "/v1", R"("api_key_env":"BEACON_EP_TEST_GOOD_KEY")"),
                             entry(region, "wrongkey", f.sim_url() + "/v1",
                                   R"("api_key_env":"BEACON_EP_TEST_WRONG_KEY")")}),
              {"--log-level", "trace"});
  auto job = "ep-apikey-" + unique_suffix();
  ASSERT_NO_FATAL_FAILURE(run_job(f, spec(region, {"keyed", "wrongkey"}, {"math_basic"}), job));

  auto ok = row(job, "keyed", "math_basic");
  EXPECT_EQ(ok.status, "completed") << ok.error_message;
  auto denied = row(job, "wrongkey", "math_basic");
  EXPECT_EQ(denied.status, "failed");
  EXPECT_EQ(denied.error_kind, "http");
  EXPECT_NE(denied.error_message.find("HTTP 401"), std::string::npos) << denied.error_message;
  EXPECT_EQ(denied.attempts, 1);
  EXPECT_EQ(sim_stats(f).requests, 2);

  {
    pqxx::connection c(require_env("BEACON_DATABASE_URL"));
    pqxx::read_transaction tx(c);
    auto all = tx.exec_params1("SELECT coalesce(string_agg(e::text, ' '), '') FROM executions e WHERE job_id=$1", job)[0]
                   .as<std::string>();
    EXPECT_EQ(all.find(secret), std::string::npos) << "the key reached the database";
    EXPECT_EQ(all.find(wrong), std::string::npos) << "the key reached the database";
  }
  // Stop everything so every log is complete, then read them all.
  for (auto& p : f.processes()) EXPECT_EQ(p->stop(30s), 0) << p->log_path();
  EXPECT_EQ(f.sim().stop(10s), 0);
  long files = 0, bytes = 0;
  for (const auto& file : fs::directory_iterator(f.dir())) {
    if (file.path().extension() != ".log") continue;
    auto text = read_text(file.path().string());
    ++files;
    bytes += static_cast<long>(text.size());
    EXPECT_EQ(text.find(secret), std::string::npos) << "the API key is in " << file.path();
    EXPECT_EQ(text.find(wrong), std::string::npos) << "the API key is in " << file.path();
  }
  EXPECT_GE(files, 3) << "sim, writer and worker logs";
  EXPECT_GT(bytes, 1000) << "the logs say something (trace level)";
}

// Under load the caps hold: max_in_flight per endpoint (3, with 12 messages
// held by the worker), then --concurrency per worker (4, with the endpoint
// allowing 64). The sim's peak of open requests is the witness.
TEST(Endpoints, MaxInFlightAndConcurrencyHoldUnderLoad) {
  Fleet f("ep-caps");
  f.start_sim({"--latency-ms", "250", "--jitter-ms", "50"});
  auto capped = "ep-cap-mif-" + unique_suffix();
  auto wide = "ep-cap-conc-" + unique_suffix();
  auto endpoints = endpoint_file(f, "endpoints.json",
                                 {entry(capped, "*", f.sim_url() + "/v1", R"("max_in_flight":3)"),
                                  entry(wide, "*", f.sim_url() + "/v1", R"("max_in_flight":64)")});
  start_parts(f, capped, endpoints, {"--concurrency", "12"});
  auto job1 = "ep-cap-mif-" + unique_suffix();
  ASSERT_NO_FATAL_FAILURE(
      run_job(f, spec(capped, {"llama3.2-1b", "qwen2.5-1.5b", "mistral-7b"}, kEightQuestions), job1));
  auto st1 = sim_stats(f);
  EXPECT_EQ(f.executions(job1).completed, 24);
  EXPECT_LE(st1.max_in_flight, 3) << "max_in_flight exceeded: " << st1.raw;
  EXPECT_EQ(st1.max_in_flight, 3) << "the test did not load the endpoint: " << st1.raw;
  EXPECT_EQ(st1.requests, 24);

  ASSERT_NE(Fleet::http_post("127.0.0.1", port_of(f.sim_url()), "/admin/reset", "").find("ok"), std::string::npos);
  f.start_worker(wide, {"--endpoints", endpoints, "--concurrency", "4"});
  auto job2 = "ep-cap-conc-" + unique_suffix();
  ASSERT_NO_FATAL_FAILURE(
      run_job(f, spec(wide, {"llama3.2-1b", "qwen2.5-1.5b", "mistral-7b"}, kEightQuestions), job2));
  auto st2 = sim_stats(f);
  EXPECT_EQ(f.executions(job2).completed, 24);
  EXPECT_LE(st2.max_in_flight, 4) << "--concurrency exceeded: " << st2.raw;
  EXPECT_EQ(st2.max_in_flight, 4) << "the test did not load the worker: " << st2.raw;
  EXPECT_EQ(st2.requests, 24);
}

}  // namespace beacon::test
