#include <beacon/infer/inference_client.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include <beacon/core/json.hpp>
#include "test_certs.hpp"
#include "test_server.hpp"

namespace beacon::infer {
namespace {

using namespace std::chrono_literals;
using testing::ReceivedRequest;
using testing::Reply;
using testing::TestServer;

InferenceRequest request(const std::string& prompt = "What is 2+2?") {
  InferenceRequest r;
  r.model_id = "llama3.2-1b";
  r.region = "r";
  r.system_prompt = "You are a helpful assistant based in r.";
  r.prompt = prompt;
  r.params_json = R"({"temperature": 0.1, "max_tokens": 64})";
  return r;
}

// Small backoffs keep retry tests fast; each test adds what it is about.
std::string endpoint_file(const std::string& url, const std::string& extra = "") {
  return R"({"endpoints": [{"region": "r", "model": "*", "url": ")" + url +
         R"(", "backoff_initial_ms": 10, "backoff_max_ms": 20)" + extra + "}]}";
}

class InferenceClientTest : public ::testing::Test {
 protected:
  void make_client(const std::string& file_text) {
    InferenceClient::Options options;
    options.random01 = [] { return 0.5; };
    client = std::make_unique<InferenceClient>(ioc, EndpointTable::parse(file_text), options);
  }

  const EndpointConfig& ep() const { return client->table().entries().front(); }

  void submit(InferenceRequest req = request()) {
    client->submit(ep(), std::move(req), [this](InferenceOutcome o) {
      std::lock_guard lock(mutex);
      outcomes.push_back(std::move(o));
    });
  }

  std::size_t done_count() {
    std::lock_guard lock(mutex);
    return outcomes.size();
  }

  bool wait_for(std::size_t n, std::chrono::milliseconds limit = 15s) {
    return testing::run_until(ioc, [&] { return done_count() >= n; }, limit);
  }

  InferenceOutcome run_one(InferenceRequest req = request()) {
    submit(std::move(req));
    EXPECT_TRUE(wait_for(1)) << "no outcome in time";
    return outcomes.empty() ? InferenceOutcome{} : outcomes.front();
  }

  EndpointStats stats() const { return client->stats().at(0); }

  net::io_context ioc;
  std::unique_ptr<InferenceClient> client;
  std::mutex mutex;
  std::vector<InferenceOutcome> outcomes;
};

std::string kind_of(const InferenceOutcome& o) { return o.error ? std::string(to_string(o.error->kind)) : ""; }

TEST_F(InferenceClientTest, OpenAiSuccess) {
  ::setenv("BEACON_TEST_INFER_KEY", "tok-9", 1);
  TestServer server([](const auto&) { return Reply::ok(testing::openai_body("4", "chatcmpl-42")); });
  make_client(endpoint_file(server.url("/v1"), R"(, "api_key_env": "BEACON_TEST_INFER_KEY")"));
  auto o = run_one();
  ASSERT_TRUE(o.ok) << kind_of(o) << ": " << (o.error ? o.error->message : "");
  EXPECT_FALSE(o.aborted);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_EQ(o.output.text, "4");
  EXPECT_EQ(o.output.classification, Classification::answered);
  EXPECT_EQ(o.output.finish_reason, "stop");
  EXPECT_EQ(o.output.prompt_tokens, 12);
  EXPECT_EQ(o.output.completion_tokens, 3);
  EXPECT_EQ(o.receipt.endpoint, server.url("/v1/chat/completions"));
  EXPECT_EQ(o.receipt.provider_id, "chatcmpl-42");
  EXPECT_EQ(o.receipt.http_status, 200);
  EXPECT_GT(o.receipt.latency_ms, 0);

  auto got = server.received().at(0);
  EXPECT_EQ(got.target, "/v1/chat/completions");
  EXPECT_EQ(got.headers["authorization"], "Bearer tok-9");
  auto body = json::parse(got.body);
  EXPECT_STREQ(body["model"].GetString(), "llama3.2-1b");
  EXPECT_STREQ(body["messages"][1]["content"].GetString(), "What is 2+2?");
  EXPECT_EQ(body["max_tokens"].GetInt(), 64);

  auto s = stats();
  EXPECT_EQ(s.requests, 1u);
  EXPECT_EQ(s.succeeded, 1u);
  EXPECT_EQ(s.responses_by_status[200], 1u);
  EXPECT_EQ(s.latency_count, 1u);
  EXPECT_EQ(s.region, "r");
  EXPECT_EQ(client->in_flight(), 0u);
  EXPECT_EQ(client->pending(), 0u);
  ::unsetenv("BEACON_TEST_INFER_KEY");
}

TEST_F(InferenceClientTest, RefusalIsClassified) {
  TestServer server([](const auto&) {
    return Reply::ok(testing::openai_body("I'm sorry, but I can't help with that."));
  });
  make_client(endpoint_file(server.url("/v1")));
  auto o = run_one();
  ASSERT_TRUE(o.ok);
  EXPECT_EQ(o.output.classification, Classification::refused);
}

TEST_F(InferenceClientTest, Retries503ThenSucceedsWithTheSameBody) {
  std::atomic<int> n{0};
  TestServer server([&](const auto&) {
    return ++n <= 3 ? Reply::with(503, "busy") : Reply::ok(testing::openai_body("ok"));
  });
  make_client(endpoint_file(server.url("/v1")));
  auto o = run_one();
  ASSERT_TRUE(o.ok) << kind_of(o);
  EXPECT_EQ(o.attempts, 4);
  auto got = server.received();
  ASSERT_EQ(got.size(), 4u);
  for (const auto& r : got) EXPECT_EQ(r.body, got[0].body);  // the same parameters on every attempt
  auto s = stats();
  EXPECT_EQ(s.retries, 3u);
  EXPECT_EQ(s.errors_by_kind[ErrorKind::http], 3u);
  EXPECT_EQ(s.responses_by_status[503], 3u);
}

TEST_F(InferenceClientTest, HonoursRetryAfter) {
  std::atomic<int> n{0};
  TestServer server([&](const auto&) {
    return ++n == 1 ? Reply::with(429).header("Retry-After", "1") : Reply::ok(testing::openai_body("ok"));
  });
  make_client(endpoint_file(server.url("/v1"), R"(, "backoff_max_ms": 5000)"));
  auto o = run_one();
  ASSERT_TRUE(o.ok) << kind_of(o);
  EXPECT_EQ(o.attempts, 2);
  auto got = server.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_GE(got[1].at - got[0].at, 950ms);
}

TEST_F(InferenceClientTest, TimeoutsExhaustAttemptsThenFailAsTimeout) {
  TestServer server([](const auto&) { return Reply::ok(testing::openai_body("late")).after(5s); });
  make_client(endpoint_file(server.url("/v1"), R"(, "timeout_s": 0.1, "max_attempts": 2)"));
  auto o = run_one();
  EXPECT_FALSE(o.ok);
  EXPECT_FALSE(o.aborted);
  EXPECT_EQ(kind_of(o), "timeout");
  EXPECT_EQ(o.attempts, 2);
  EXPECT_EQ(server.requests(), 2);
}

TEST_F(InferenceClientTest, ExhaustedRetriesFailWithTheLastErrorKind) {
  TestServer server([](const auto&) { return Reply::with(503, "still down"); });
  make_client(endpoint_file(server.url("/v1"), R"(, "max_attempts": 3)"));
  auto o = run_one();
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(kind_of(o), "http");
  EXPECT_NE(o.error->message.find("503"), std::string::npos) << o.error->message;
  EXPECT_EQ(o.attempts, 3);
  EXPECT_EQ(o.receipt.http_status, 503);
  EXPECT_EQ(stats().failed, 1u);
}

TEST_F(InferenceClientTest, ConnectionRefusedIsRetriedThenFailsAsConnect) {
  std::uint16_t port;
  {
    tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  make_client(endpoint_file("http://127.0.0.1:" + std::to_string(port) + "/v1", R"(, "max_attempts": 3)"));
  auto o = run_one();
  EXPECT_EQ(kind_of(o), "connect");
  EXPECT_EQ(o.attempts, 3);
}

TEST_F(InferenceClientTest, MalformedJsonFailsAtOnceAsProtocol) {
  TestServer server([](const auto&) { return Reply::ok("{\"choices\": [oops"); });
  make_client(endpoint_file(server.url("/v1")));
  auto o = run_one();
  EXPECT_EQ(kind_of(o), "protocol");
  EXPECT_NE(o.error->message.find("oops"), std::string::npos) << o.error->message;
  EXPECT_EQ(o.attempts, 1);
  EXPECT_EQ(server.requests(), 1);
}

TEST_F(InferenceClientTest, Http400FailsAtOnceWithStatusAndBody) {
  TestServer server([](const auto&) { return Reply::with(400, R"({"error": "unknown model llama3.2-1b"})"); });
  make_client(endpoint_file(server.url("/v1")));
  auto o = run_one();
  EXPECT_EQ(kind_of(o), "http");
  EXPECT_NE(o.error->message.find("400"), std::string::npos) << o.error->message;
  EXPECT_NE(o.error->message.find("unknown model"), std::string::npos) << o.error->message;
  EXPECT_EQ(o.attempts, 1);
  EXPECT_EQ(o.receipt.http_status, 400);
  EXPECT_EQ(server.requests(), 1);
}

TEST_F(InferenceClientTest, ResetMidBodyIsRetried) {
  std::atomic<int> n{0};
  TestServer server([&](const auto&) {
    auto reply = Reply::ok(testing::openai_body("ok"));
    return ++n == 1 ? std::move(reply).reset() : reply;
  });
  make_client(endpoint_file(server.url("/v1")));
  auto o = run_one();
  ASSERT_TRUE(o.ok) << kind_of(o);
  EXPECT_EQ(o.attempts, 2);
  EXPECT_EQ(stats().errors_by_kind[ErrorKind::reset], 1u);
}

TEST_F(InferenceClientTest, OversizedFailsAtOnce) {
  TestServer server([](const auto&) { return Reply::ok(testing::openai_body(std::string(5000, 'x'))); });
  make_client(endpoint_file(server.url("/v1"), R"(, "max_response_bytes": 1000)"));
  auto o = run_one();
  EXPECT_EQ(kind_of(o), "oversized");
  EXPECT_EQ(o.attempts, 1);
}

TEST_F(InferenceClientTest, BadParamsFailWithoutARequest) {
  TestServer server([](const auto&) { return Reply::ok(testing::openai_body("ok")); });
  make_client(endpoint_file(server.url("/v1")));
  auto req = request();
  req.params_json = R"({"max_tokens": "many"})";
  auto o = run_one(req);
  EXPECT_EQ(kind_of(o), "bad_message");
  EXPECT_EQ(o.attempts, 0);
  EXPECT_EQ(server.requests(), 0);
}

TEST_F(InferenceClientTest, MaxInFlightHoldsAndConnectionsAreReused) {
  TestServer server([](const auto&) { return Reply::ok(testing::openai_body("ok")).after(30ms); });
  make_client(endpoint_file(server.url("/v1"), R"(, "max_in_flight": 3)"));
  for (int i = 0; i < 12; ++i) submit(request("q" + std::to_string(i)));
  ASSERT_TRUE(wait_for(12));
  for (const auto& o : outcomes) EXPECT_TRUE(o.ok) << kind_of(o);
  EXPECT_EQ(server.requests(), 12);
  EXPECT_LE(server.max_concurrent(), 3);
  EXPECT_GE(server.max_concurrent(), 2);  // the limit is used, not just respected
  EXPECT_LE(server.connections(), 3);     // keep-alive: fewer connections than requests
  EXPECT_EQ(client->in_flight(), 0u);
}

TEST_F(InferenceClientTest, QueuedRequestsGoOutInSubmissionOrder) {
  TestServer server([](const auto&) { return Reply::ok(testing::openai_body("ok")); });
  make_client(endpoint_file(server.url("/v1"), R"(, "max_in_flight": 1)"));
  for (int i = 0; i < 6; ++i) submit(request("q" + std::to_string(i)));
  ASSERT_TRUE(wait_for(6));
  auto got = server.received();
  ASSERT_EQ(got.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_NE(got[i].body.find("\"q" + std::to_string(i) + "\""), std::string::npos) << got[i].body;
  }
}

TEST_F(InferenceClientTest, ThirtyPercent503StillYieldsOk) {
  std::atomic<int> n{0};
  TestServer server([&](const auto&) {
    const int i = n++;
    return i % 10 == 1 || i % 10 == 4 || i % 10 == 7 ? Reply::with(503) : Reply::ok(testing::openai_body("ok"));
  });
  make_client(endpoint_file(server.url("/v1"), R"(, "max_in_flight": 4)"));
  for (int i = 0; i < 20; ++i) submit();
  ASSERT_TRUE(wait_for(20));
  for (const auto& o : outcomes) EXPECT_TRUE(o.ok) << kind_of(o);
  EXPECT_GT(stats().retries, 0u);
}

TEST_F(InferenceClientTest, CircuitOpensRequestsWaitThenSucceed) {
  std::atomic<int> n{0};
  TestServer server([&](const auto&) {
    return ++n <= 3 ? Reply::with(503) : Reply::ok(testing::openai_body("back"));
  });
  make_client(endpoint_file(server.url("/v1"),
                            R"(, "circuit_failure_threshold": 2, "circuit_open_s": 0.3, "max_attempts": 10)"));
  std::atomic<int> events{0};
  client->set_attempt_observer([&](const AttemptEvent&) { ++events; });
  submit(request("A"));
  ASSERT_TRUE(testing::run_until(ioc, [&] { return stats().circuit == CircuitState::open; }));
  EXPECT_EQ(server.requests(), 2);
  submit(request("B"));  // arrives while the circuit is open: must wait, not fail
  ASSERT_TRUE(wait_for(2));

  auto& a = outcomes[0].attempts == 1 ? outcomes[1] : outcomes[0];
  auto& b = outcomes[0].attempts == 1 ? outcomes[0] : outcomes[1];
  EXPECT_TRUE(a.ok) << kind_of(a);
  EXPECT_TRUE(b.ok) << kind_of(b);
  EXPECT_EQ(a.attempts, 4);  // two failures, a failed probe, then a request once B's probe closed the circuit
  EXPECT_EQ(b.attempts, 1);  // waiting used up no attempts
  auto got = server.received();
  ASSERT_EQ(got.size(), 5u);
  // Nothing was sent while the circuit was open.
  EXPECT_GE(got[2].at - got[1].at, 280ms);
  EXPECT_GE(got[3].at - got[2].at, 280ms);
  // A's failed probe sent it behind B: B is the next probe, A follows.
  EXPECT_NE(got[3].body.find("\"B\""), std::string::npos);
  EXPECT_NE(got[4].body.find("\"A\""), std::string::npos);
  auto s = stats();
  EXPECT_EQ(s.circuit_opened, 2u);
  EXPECT_EQ(s.circuit, CircuitState::closed);
  EXPECT_TRUE(testing::run_until(ioc, [&] { return events == 5; }));
}

// Issue 8 item 5: an outage far longer than max_attempts x circuit_open_s.
// Only the failure sent while the circuit was closed is charged; the probes
// that follow are the circuit's, so the request waits out the outage
// however many probes fail, and completes when the endpoint answers.
TEST_F(InferenceClientTest, FailedProbesSpendNoAttemptsSoALongOutageFailsNothing) {
  constexpr int kDownFor = 12;  // requests answered 503 before the endpoint is back
  std::atomic<int> n{0};
  TestServer server([&](const auto&) {
    return ++n <= kDownFor ? Reply::with(503, "down") : Reply::ok(testing::openai_body("back"));
  });
  make_client(endpoint_file(server.url("/v1"),
                            R"(, "circuit_failure_threshold": 1, "circuit_open_s": 0.02, "max_attempts": 2)"));
  auto o = run_one();
  ASSERT_TRUE(o.ok) << "an outage of " << kDownFor << " failed requests with max_attempts 2 failed the request: "
                    << kind_of(o) << " " << (o.error ? o.error->message : "");
  EXPECT_EQ(o.attempts, kDownFor + 1) << "attempts counts every request sent, probes included";
  EXPECT_EQ(server.requests(), kDownFor + 1);
  auto s = stats();
  EXPECT_EQ(s.circuit, CircuitState::closed);
  EXPECT_EQ(s.circuit_opened, static_cast<std::uint64_t>(kDownFor));  // the first failure, then each failed probe
  EXPECT_EQ(s.failed, 0u);
}

// The budget still holds outside outages: failures sent while the circuit
// is closed use up attempts (threshold above max_attempts: it never opens).
TEST_F(InferenceClientTest, FailuresWhileTheCircuitIsClosedStillUseUpAttempts) {
  TestServer server([](const auto&) { return Reply::with(503, "busy"); });
  make_client(endpoint_file(server.url("/v1"), R"(, "circuit_failure_threshold": 10, "max_attempts": 3)"));
  auto o = run_one();
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(kind_of(o), "http");
  EXPECT_EQ(o.attempts, 3);
  EXPECT_EQ(server.requests(), 3);
}

// A request the server always fails must not be the probe forever: its
// failed probe sends it behind the others, the next probe (another request)
// closes the circuit, and the failing request then spends its attempts
// while the circuit is closed and fails on its own.
TEST_F(InferenceClientTest, ARequestThatAlwaysFailsDoesNotHoldTheCircuitOpenForTheOthers) {
  TestServer server([](const testing::ReceivedRequest& r) {
    return r.body.find("\"poison\"") != std::string::npos ? Reply::with(503, "chokes on it")
                                                          : Reply::ok(testing::openai_body("fine"));
  });
  make_client(endpoint_file(server.url("/v1"), R"(, "circuit_failure_threshold": 2, "circuit_open_s": 0.05,)"
                                               R"( "max_attempts": 3, "max_in_flight": 1)"));
  submit(request("poison"));
  ASSERT_TRUE(testing::run_until(ioc, [&] { return stats().circuit == CircuitState::open; }));
  for (int i = 0; i < 3; ++i) submit(request("fine " + std::to_string(i)));
  ASSERT_TRUE(wait_for(4)) << "requests starved behind a request that always fails";
  int ok = 0;
  for (const auto& o : outcomes) {
    if (o.ok) {
      ++ok;
      continue;
    }
    EXPECT_EQ(kind_of(o), "http");
    EXPECT_GE(o.attempts, 3);
  }
  EXPECT_EQ(ok, 3);
}

TEST_F(InferenceClientTest, AbortAllEndsInFlightQueuedAndLaterRequests) {
  TestServer server([](const auto&) { return Reply::ok(testing::openai_body("late")).after(10s); });
  make_client(endpoint_file(server.url("/v1"), R"(, "max_in_flight": 1)"));
  for (int i = 0; i < 3; ++i) submit();
  ASSERT_TRUE(testing::run_until(ioc, [&] { return server.requests() == 1 && client->in_flight() == 1; }));
  client->abort_all();
  ASSERT_TRUE(wait_for(3, 2s));
  for (const auto& o : outcomes) {
    EXPECT_TRUE(o.aborted);
    EXPECT_FALSE(o.ok);
  }
  EXPECT_EQ(client->in_flight(), 0u);
  EXPECT_EQ(client->pending(), 0u);
  submit();
  ASSERT_TRUE(wait_for(4, 2s));
  EXPECT_TRUE(outcomes[3].aborted);
  EXPECT_EQ(server.requests(), 1);
}

TEST_F(InferenceClientTest, AbortAllEndsABackoff) {
  TestServer server([](const auto&) { return Reply::with(503); });
  make_client(endpoint_file(server.url("/v1"), R"(, "backoff_initial_ms": 60000, "backoff_max_ms": 60000)"));
  submit();
  ASSERT_TRUE(testing::run_until(ioc, [&] { return stats().retries == 1; }));
  client->abort_all();
  ASSERT_TRUE(wait_for(1, 2s));
  EXPECT_TRUE(outcomes[0].aborted);
  EXPECT_EQ(outcomes[0].attempts, 1);
}

TEST_F(InferenceClientTest, ModalStyleBeaconEndpointWith303ToAResultUrl) {
  TestServer results([](const ReceivedRequest& r) {
    if (r.method != "GET") return Reply::with(405);
    return Reply::ok(R"({"success": true, "response": "Paris.", "model": "qwen2.5-1.5b", "inference_time": 1.5,
                        "receipt": {"request_id": "req-77", "gpu": "A10G"}})");
  });
  const std::string result_url = results.url("/result?call=fc-1", "localhost");
  TestServer front([&](const auto&) { return Reply::with(303).header("Location", result_url); });
  // The result URL is another origin: the endpoint file must allow its host.
  make_client(endpoint_file(front.url("/generate"), R"(, "protocol": "beacon", "redirect_hosts": ["localhost"])"));
  auto o = run_one();
  ASSERT_TRUE(o.ok) << kind_of(o) << ": " << (o.error ? o.error->message : "");
  EXPECT_EQ(o.output.text, "Paris.");
  EXPECT_EQ(o.receipt.provider_id, "req-77");
  EXPECT_NE(o.receipt.provider_receipt_json.find("A10G"), std::string::npos);
  EXPECT_EQ(o.receipt.endpoint, front.url("/generate"));
  auto sent = json::parse(front.received().at(0).body);
  EXPECT_STREQ(sent["prompt"].GetString(), "What is 2+2?");
  EXPECT_STREQ(sent["region"].GetString(), "r");
  EXPECT_STREQ(sent["system_prompt"].GetString(), "You are a helpful assistant based in r.");
}

TEST_F(InferenceClientTest, BeaconFailureIsNotRetried) {
  TestServer server([](const auto&) { return Reply::ok(R"({"success": false, "error": "model not found"})"); });
  make_client(endpoint_file(server.url("/generate"), R"(, "protocol": "beacon")"));
  auto o = run_one();
  EXPECT_EQ(kind_of(o), "provider");
  EXPECT_EQ(o.attempts, 1);
}

TEST_F(InferenceClientTest, HttpsWithAndWithoutTheCa) {
  auto pki = testing::make_test_pki({"localhost"}, {"127.0.0.1"});
  testing::TempFile ca(pki.ca_cert_pem);
  TestServer server([](const auto&) { return Reply::ok(testing::openai_body("secure")); },
                    testing::server_tls_context(pki));
  make_client(R"({"endpoints": [
    {"region": "r", "model": "trusted", "url": ")" + server.url("/v1", "localhost") + R"(", "ca_file": ")" +
              ca.path() + R"("},
    {"region": "r", "model": "*", "url": ")" + server.url("/v1", "localhost") + R"("}]})");
  const EndpointConfig* trusted = client->table().find("r", "trusted");
  const EndpointConfig* untrusted = client->table().find("r", "other");
  ASSERT_TRUE(trusted && untrusted && trusted != untrusted);
  client->submit(*trusted, request(), [&](InferenceOutcome o) { outcomes.push_back(std::move(o)); });
  ASSERT_TRUE(wait_for(1));
  EXPECT_TRUE(outcomes[0].ok) << kind_of(outcomes[0]);
  client->submit(*untrusted, request(), [&](InferenceOutcome o) { outcomes.push_back(std::move(o)); });
  ASSERT_TRUE(wait_for(2));
  EXPECT_EQ(kind_of(outcomes[1]), "tls");
  EXPECT_EQ(outcomes[1].attempts, 1);  // a trust problem is not retried
  EXPECT_EQ(client->stats().size(), 2u);
}

TEST_F(InferenceClientTest, SafeWithTheIoContextOnTwoThreads) {
  TestServer server([](const auto&) { return Reply::ok(testing::openai_body("ok")).after(5ms); });
  make_client(endpoint_file(server.url("/v1"), R"(, "max_in_flight": 4)"));
  auto work = net::make_work_guard(ioc);
  std::thread t1([&] { ioc.run(); });
  std::thread t2([&] { ioc.run(); });
  std::mutex m;
  std::condition_variable cv;
  int ok = 0;
  int finished = 0;
  for (int i = 0; i < 40; ++i) {
    client->submit(ep(), request(), [&](InferenceOutcome o) {
      std::lock_guard lock(m);
      if (o.ok) ++ok;
      ++finished;
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(m);
    cv.wait_for(lock, 15s, [&] { return finished == 40; });
  }
  work.reset();
  ioc.stop();
  t1.join();
  t2.join();
  EXPECT_EQ(finished, 40);
  EXPECT_EQ(ok, 40);
  EXPECT_LE(server.max_concurrent(), 4);
}

}  // namespace
}  // namespace beacon::infer
