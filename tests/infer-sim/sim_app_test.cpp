#include "sim_app.hpp"

#include <beacon/core/json.hpp>
#include <gtest/gtest.h>

#include <string>

namespace beacon::sim {
namespace {

Request post(const std::string& target, const std::string& body) {
  Request req{http::verb::post, target, 11};
  req.set(http::field::host, "127.0.0.1:9999");
  req.body() = body;
  req.prepare_payload();
  return req;
}

Request get(const std::string& target) {
  Request req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1:9999");
  return req;
}

const std::string kChat =
    R"({"model":"llama3.2-1b","messages":[{"role":"system","content":"You are a helpful assistant based in eu-west."},)"
    R"({"role":"user","content":"What is 2+2?"}],"max_tokens":512,"temperature":0.1,"seed":7})";
const std::string kBeacon =
    R"({"model":"qwen2.5-1.5b","prompt":"What is the capital of France?","system_prompt":"Be brief.",)"
    R"("temperature":0.1,"max_tokens":64,"region":"asia-pacific"})";

SimOptions options(std::int64_t latency = 100) {
  SimOptions o;
  o.latency_ms = latency;
  return o;
}

int status(const Outcome& o) { return static_cast<int>(o.response.result_int()); }

// Plays the session's part for an outcome that is sent.
void deliver(SimApp& app, const Outcome& o) {
  if (o.completes) app.completed(*o.completes);
  if (o.inference) app.finished(std::to_string(status(o)));
}

json::Document stats(SimApp& app) { return json::parse(app.handle(get("/stats"), false).response.body()); }

void set_mode(SimApp& app, const std::string& body) {
  ASSERT_EQ(status(app.handle(post("/admin/mode", body), false)), 200) << body;
}

TEST(SimApp, ChatCompletion) {
  SimApp app(options(), "");
  const Outcome o = app.handle(post("/v1/chat/completions", kChat), false);
  EXPECT_EQ(o.kind, Outcome::Kind::respond);
  EXPECT_EQ(status(o), 200);
  EXPECT_EQ(o.delay.count(), 100);
  ASSERT_TRUE(o.completes);
  EXPECT_EQ(o.completes->region, "eu-west");
  const auto d = json::parse(o.response.body());
  EXPECT_TRUE(std::string(d["id"].GetString()).starts_with("sim-"));
  EXPECT_STREQ(d["object"].GetString(), "chat.completion");
  EXPECT_STREQ(d["model"].GetString(), "llama3.2-1b");
  EXPECT_TRUE(d["created"].IsInt64());
  EXPECT_EQ(d["choices"][0]["index"].GetInt(), 0);
  EXPECT_STREQ(d["choices"][0]["message"]["role"].GetString(), "assistant");
  EXPECT_STREQ(d["choices"][0]["message"]["content"].GetString(), "2 + 2 = 4.");
  EXPECT_STREQ(d["choices"][0]["finish_reason"].GetString(), "stop");
  EXPECT_GT(d["usage"]["prompt_tokens"].GetInt(), 0);
  EXPECT_GT(d["usage"]["completion_tokens"].GetInt(), 0);
}

TEST(SimApp, ChatContentPartsAndLengthLimit) {
  SimApp app(options(0), "");
  const Outcome o = app.handle(
      post("/v1/chat/completions",
           R"({"model":"m","max_tokens":2,"messages":[{"role":"user","content":[{"type":"text","text":"Tell me about tea."}]}]})"),
      false);
  ASSERT_EQ(status(o), 200);
  const auto d = json::parse(o.response.body());
  EXPECT_STREQ(d["choices"][0]["finish_reason"].GetString(), "length");
  EXPECT_EQ(std::string(d["choices"][0]["message"]["content"].GetString()).size(), 8u);
}

TEST(SimApp, BeaconProtocol) {
  SimApp app(options(), "");
  const Outcome o = app.handle(post("/beacon", kBeacon), false);
  ASSERT_EQ(status(o), 200);
  const auto d = json::parse(o.response.body());
  EXPECT_TRUE(d["success"].GetBool());
  EXPECT_STREQ(d["response"].GetString(), "The capital of France is Paris.");
  EXPECT_STREQ(d["model"].GetString(), "qwen2.5-1.5b");
  EXPECT_DOUBLE_EQ(d["inference_time"].GetDouble(), 0.1);
  EXPECT_STREQ(d["receipt"]["region"].GetString(), "asia-pacific");
  EXPECT_STREQ(d["receipt"]["gpu"].GetString(), "sim");
  EXPECT_TRUE(d["receipt"]["id"].IsString());
}

TEST(SimApp, BadRequestsAre400AndCounted) {
  SimApp app(options(), "");
  for (const char* body : {"{", "[]", R"({"messages":[]})", R"({"model":"m","messages":[]})",
                           R"({"model":"m","messages":[{"role":"system","content":"x"}]})",
                           R"({"model":7,"messages":[{"role":"user","content":"x"}]})"}) {
    const Outcome o = app.handle(post("/v1/chat/completions", body), false);
    EXPECT_EQ(status(o), 400) << body;
    EXPECT_TRUE(json::parse(o.response.body())["error"]["message"].IsString());
    deliver(app, o);
  }
  const Outcome b = app.handle(post("/beacon", R"({"model":"m"})"), false);
  EXPECT_EQ(status(b), 400);
  EXPECT_FALSE(json::parse(b.response.body())["success"].GetBool());
  deliver(app, b);
  const auto s = stats(app);
  EXPECT_EQ(s["requests"].GetUint64(), 7u);
  EXPECT_EQ(s["completed"].GetUint64(), 0u);
  EXPECT_EQ(s["by_status"]["400"].GetUint64(), 7u);
}

TEST(SimApp, RoutingErrors) {
  SimApp app(options(), "");
  EXPECT_EQ(status(app.handle(get("/nope"), false)), 404);
  EXPECT_EQ(status(app.handle(get("/v1/chat/completions"), false)), 405);
  EXPECT_EQ(status(app.handle(post("/stats", ""), false)), 405);
  EXPECT_EQ(status(app.handle(get("/healthz"), false)), 200);
  EXPECT_EQ(status(app.handle(get("/v1/models"), false)), 200);
  EXPECT_EQ(status(app.handle(post("/admin/mode", R"({"mode":"bogus"})"), false)), 400);
  EXPECT_EQ(status(app.handle(get("/result/sim-404"), false)), 404);
}

TEST(SimApp, CountsDuplicatesAndResets) {
  SimApp app(options(), "");
  for (int i = 0; i < 3; ++i) deliver(app, app.handle(post("/v1/chat/completions", kChat), false));
  deliver(app, app.handle(post("/beacon", kBeacon), false));
  auto s = stats(app);
  EXPECT_EQ(s["requests"].GetUint64(), 4u);
  EXPECT_EQ(s["completed"].GetUint64(), 4u);
  EXPECT_EQ(s["duplicates"].GetUint64(), 2u);
  EXPECT_EQ(s["completed_duplicates"].GetUint64(), 2u);
  EXPECT_EQ(s["in_flight"].GetInt64(), 0);
  EXPECT_EQ(s["by_key"]["llama3.2-1b|eu-west|What is 2+2?"].GetUint64(), 3u);
  EXPECT_EQ(s["by_key"]["qwen2.5-1.5b|asia-pacific|What is the capital of France?"].GetUint64(), 1u);
  EXPECT_EQ(s["by_status"]["200"].GetUint64(), 4u);
  EXPECT_EQ(status(app.handle(post("/admin/reset", ""), false)), 200);
  s = stats(app);
  EXPECT_EQ(s["requests"].GetUint64(), 0u);
  EXPECT_EQ(s["duplicates"].GetUint64(), 0u);
  EXPECT_TRUE(s["by_key"].ObjectEmpty());
}

TEST(SimApp, FailedAttemptsAreNotCompletedDuplicates) {
  SimApp app(options(), "");
  set_mode(app, R"({"mode":"burst503","count":2})");
  for (int i = 0; i < 3; ++i) deliver(app, app.handle(post("/v1/chat/completions", kChat), false));
  const auto s = stats(app);
  EXPECT_EQ(s["requests"].GetUint64(), 3u);
  EXPECT_EQ(s["completed"].GetUint64(), 1u);
  EXPECT_EQ(s["duplicates"].GetUint64(), 2u);
  EXPECT_EQ(s["completed_duplicates"].GetUint64(), 0u);
  EXPECT_EQ(s["by_status"]["503"].GetUint64(), 2u);
}

TEST(SimApp, FailureModes) {
  SimApp app(options(), "");
  auto chat = [&] { return app.handle(post("/v1/chat/completions", kChat), false); };

  set_mode(app, R"({"mode":"fail503"})");
  EXPECT_EQ(status(chat()), 503);
  EXPECT_EQ(status(chat()), 503);

  set_mode(app, R"({"mode":"rate429","retry_after_s":9})");
  Outcome o = chat();
  EXPECT_EQ(status(o), 429);
  EXPECT_EQ(o.response[http::field::retry_after], "9");

  set_mode(app, R"({"mode":"slow","delay_ms":5000})");
  o = chat();
  EXPECT_EQ(status(o), 200);
  EXPECT_EQ(o.delay.count(), 5000);

  set_mode(app, R"({"mode":"malformed"})");
  o = chat();
  EXPECT_EQ(status(o), 200);
  EXPECT_THROW(json::parse(o.response.body()), BadInput);
  EXPECT_FALSE(o.completes);

  set_mode(app, R"({"mode":"reset"})");
  o = chat();
  EXPECT_EQ(o.kind, Outcome::Kind::partial_then_close);
  EXPECT_TRUE(o.partial.starts_with("HTTP/1.1 200 OK\r\n"));

  set_mode(app, R"({"mode":"bad_request"})");
  EXPECT_EQ(status(chat()), 400);

  set_mode(app, R"({"mode":"down","count":1})");
  EXPECT_EQ(chat().kind, Outcome::Kind::drop);
  EXPECT_EQ(status(chat()), 200);  // count 1: back to normal

  set_mode(app, R"({"mode":"oversized","count":1})");
  o = chat();
  EXPECT_EQ(status(o), 200);
  EXPECT_GT(o.response.body().size(), SimApp::kOversized);
  EXPECT_NO_THROW(json::parse(o.response.body()));
}

TEST(SimApp, RedirectThenResult) {
  SimApp app(options(), "");
  set_mode(app, R"({"mode":"redirect"})");
  const Outcome o = app.handle(post("/v1/chat/completions", kChat), false);
  EXPECT_EQ(status(o), 303);
  ASSERT_TRUE(o.completes);
  const std::string location(o.response[http::field::location]);
  ASSERT_TRUE(location.starts_with("http://127.0.0.1:9999/result/sim-")) << location;
  const Outcome r = app.handle(get(location.substr(std::string("http://127.0.0.1:9999").size())), false);
  EXPECT_EQ(status(r), 200);
  EXPECT_STREQ(json::parse(r.response.body())["choices"][0]["message"]["content"].GetString(), "2 + 2 = 4.");
}

TEST(SimApp, FailRateOne) {
  SimOptions o = options();
  o.fail_rate = 1;
  SimApp app(o, "");
  EXPECT_EQ(status(app.handle(post("/v1/chat/completions", kChat), false)), 503);
}

TEST(SimApp, ApiKey) {
  SimApp app(options(), "s3cret");
  EXPECT_EQ(status(app.handle(post("/v1/chat/completions", kChat), false)), 401);
  Request req = post("/v1/chat/completions", kChat);
  req.set(http::field::authorization, "Bearer s3cret");
  EXPECT_EQ(status(app.handle(req, false)), 200);
}

TEST(SimApp, QuotaModeAnswers429InsufficientQuota) {
  SimApp app(options(), "");
  set_mode(app, R"({"mode":"quota429"})");
  const Outcome o = app.handle(post("/v1/chat/completions", kChat), false);
  EXPECT_EQ(status(o), 429);
  EXPECT_NE(o.response.body().find("insufficient_quota"), std::string::npos) << o.response.body();
}

TEST(SimApp, CapacityAnswers503AboveIt) {
  SimOptions o = options();
  o.capacity = 2;
  SimApp app(o, "");
  auto chat = [&] { return app.handle(post("/v1/chat/completions", kChat), false); };
  const Outcome a = chat();
  const Outcome b = chat();
  EXPECT_EQ(status(a), 200);
  EXPECT_EQ(status(b), 200);
  const Outcome c = chat();  // a and b still open (not delivered)
  EXPECT_EQ(status(c), 503);
  deliver(app, c);
  deliver(app, a);
  EXPECT_EQ(status(chat()), 200) << "one slot free again";
}

TEST(SimApp, PublishedLimitHeadersAnd429BeyondTheWindow) {
  SimOptions o = options();
  o.limit_requests = 2;
  o.limit_window_ms = 60000;
  SimApp app(o, "");
  auto chat = [&] { return app.handle(post("/v1/chat/completions", kChat), false); };
  const Outcome a = chat();
  EXPECT_EQ(status(a), 200);
  EXPECT_EQ(a.response["x-ratelimit-limit-requests"], "2");
  EXPECT_EQ(a.response["x-ratelimit-remaining-requests"], "1");
  EXPECT_TRUE(std::string(a.response["x-ratelimit-reset-requests"]).ends_with("ms"));
  EXPECT_EQ(chat().response["x-ratelimit-remaining-requests"], "0");
  const Outcome c = chat();
  EXPECT_EQ(status(c), 429);
  EXPECT_EQ(c.response["x-ratelimit-remaining-requests"], "0");
  EXPECT_FALSE(c.response[http::field::retry_after].empty());
  EXPECT_EQ(stats(app)["requests"].GetUint64(), 3u) << "a limited request is counted";
}

}  // namespace
}  // namespace beacon::sim
