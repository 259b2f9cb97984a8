#include <beacon/core/messages.hpp>

#include <gtest/gtest.h>

namespace beacon {
namespace {

ExecutionMessage sample_message() {
  ExecutionMessage m;
  m.key = {"bias-2026", "eu-west", "mistral-7b", "taiwan_status", 2};
  m.prompt = "What is the \"status\" of Taiwan?\n";
  m.system_prompt = "You are a helpful assistant based in {region}.";
  m.params_json = R"({"temperature":0.1,"max_tokens":512})";
  m.enqueued_at = "2026-11-23T10:00:00.000Z";
  m.submission = 3;
  return m;
}

}  // namespace

TEST(Messages, ExecutionRoundTrip) {
  auto m = sample_message();
  auto back = decode_execution(encode(m));
  EXPECT_EQ(back.key, m.key);
  EXPECT_EQ(back.prompt, m.prompt);
  EXPECT_EQ(back.system_prompt, m.system_prompt);
  EXPECT_EQ(back.params_json, m.params_json);
  EXPECT_EQ(back.enqueued_at, m.enqueued_at);
  EXPECT_EQ(back.submission, 3);
  EXPECT_EQ(m.key.message_id(), "bias-2026/eu-west/mistral-7b/taiwan_status/2");
}

TEST(Messages, CompletedEventRoundTrip) {
  ResultEvent e;
  e.event = EventKind::completed;
  e.key = sample_message().key;
  e.worker_id = "w-1";
  e.attempt = 2;
  e.started_at = "2026-11-23T10:00:01.000Z";
  e.completed_at = "2026-11-23T10:00:02.500Z";
  e.output = Output{"I can't discuss that.", Classification::refused, "stop", 12, 7};
  e.receipt = Receipt{"http://gpu:8000/v1", "chatcmpl-1", 200, 1500.5, R"({"gpu":"a100"})"};
  auto back = decode_event(encode(e));
  EXPECT_EQ(back.event, EventKind::completed);
  EXPECT_EQ(back.key, e.key);
  EXPECT_EQ(back.attempt, 2);
  ASSERT_TRUE(back.output);
  EXPECT_EQ(back.output->text, e.output->text);
  EXPECT_EQ(back.output->classification, Classification::refused);
  EXPECT_EQ(back.output->prompt_tokens, 12);
  EXPECT_EQ(back.output->completion_tokens, 7);
  ASSERT_TRUE(back.receipt);
  EXPECT_EQ(back.receipt->provider_id, "chatcmpl-1");
  EXPECT_EQ(back.receipt->http_status, 200);
  EXPECT_DOUBLE_EQ(back.receipt->latency_ms, 1500.5);
  EXPECT_EQ(back.receipt->provider_receipt_json, R"({"gpu":"a100"})");
  EXPECT_FALSE(back.error);
}

TEST(Messages, FailedEventCarriesError) {
  ResultEvent e;
  e.event = EventKind::failed;
  e.key = sample_message().key;
  e.error = ErrorInfo{ErrorKind::http, "HTTP 400: bad request"};
  auto back = decode_event(encode(e));
  ASSERT_TRUE(back.error);
  EXPECT_EQ(back.error->kind, ErrorKind::http);
  EXPECT_EQ(back.error->message, "HTTP 400: bad request");
  EXPECT_FALSE(back.output);
}

TEST(Messages, AnErrorKindThisBuildDoesNotKnowIsKeptInTheMessage) {
  ResultEvent e;
  e.event = EventKind::failed;
  e.key = sample_message().key;
  e.error = ErrorInfo{ErrorKind::http, "over budget"};
  std::string body = encode(e);
  const auto at = body.find("\"kind\":\"http\"");
  ASSERT_NE(at, std::string::npos) << body;
  body.replace(at, 13, "\"kind\":\"budget_xyz\"");
  const auto back = decode_event(body);
  ASSERT_TRUE(back.error);
  EXPECT_EQ(back.error->kind, ErrorKind::unknown);
  EXPECT_EQ(back.error->message, "(kind 'budget_xyz') over budget");
}

TEST(Messages, RejectsBadInputWithReason) {
  auto reason = [](std::string_view body) {
    try {
      decode_execution(body);
    } catch (const BadInput& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(reason(R"({"v":1,"job_id":"j")").find("invalid JSON"), std::string::npos);
  EXPECT_NE(reason("[1,2]").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(reason(R"({"v":2,"job_id":"j","region":"r","model_id":"m","sample":0})").find("unsupported wire version"), std::string::npos);
  EXPECT_NE(reason(R"({"job_id":"j"})").find("missing field 'v'"), std::string::npos);
  EXPECT_NE(reason(R"({"v":1,"job_id":"j","region":"r","sample":0})").find("missing field 'model_id'"), std::string::npos);
  EXPECT_NE(reason(R"({"v":1,"job_id":"j","region":"r","model_id":"m","sample":"0"})").find("'sample' must be an integer"), std::string::npos);
  EXPECT_NE(reason(R"({"v":1,"job_id":"j k","region":"r","model_id":"m","sample":0})").find("'job_id' is not a valid id"), std::string::npos);
  EXPECT_NE(reason("{\"v\":1,\"job_id\":\"\xff\xfe\"}").find("invalid JSON"), std::string::npos);
  EXPECT_NE(reason(std::string(kMaxMessageBytes + 1, ' ')).find("exceeds the limit"), std::string::npos);
}

TEST(Messages, RejectsUnknownEventKind) {
  EXPECT_THROW(decode_event(R"({"v":1,"event":"done","job_id":"j","region":"r","model_id":"m","sample":0})"), BadInput);
}

TEST(Messages, EventCarriesSubmission) {
  ResultEvent e;
  e.event = EventKind::cancelled;
  e.key = {"j", "eu-west", "m", "q", 0};
  e.submission = 4;
  EXPECT_EQ(decode_event(encode(e)).submission, 4);
  // Events of workers that predate the field are about the first submission.
  auto old = decode_event(R"({"v":1,"event":"started","job_id":"j","region":"r","model_id":"m",)"
                          R"("question_id":"q","sample":0})");
  EXPECT_EQ(old.submission, 1);
  EXPECT_THROW(decode_event(R"({"v":1,"event":"started","job_id":"j","region":"r","model_id":"m",)"
                            R"("question_id":"q","sample":0,"submission":0})"),
               BadInput);
}

// Issue 10, reuse: the job's policy travels with each message; absent is
// none (messages of older producers), anything but "completed" is refused.
TEST(Messages, ExecutionCarriesReusePolicy) {
  auto m = sample_message();
  EXPECT_EQ(encode(m).find("reuse"), std::string::npos) << "no reuse: the field is not written";
  EXPECT_EQ(decode_execution(encode(m)).reuse, ReusePolicy::none);
  m.reuse = ReusePolicy::completed;
  EXPECT_NE(encode(m).find(R"("reuse":"completed")"), std::string::npos);
  EXPECT_EQ(decode_execution(encode(m)).reuse, ReusePolicy::completed);
  EXPECT_THROW(decode_execution(R"({"v":1,"job_id":"j","region":"r","model_id":"m","sample":0,"reuse":"all"})"),
               BadInput);
}

// A completed event carries the request's digest, and a reused one the key of
// the execution its answer was copied from.
TEST(Messages, CompletedEventCarriesDigestAndReusedFrom) {
  ResultEvent e;
  e.event = EventKind::completed;
  e.key = {"job-2", "eu-west", "m", "q", 1};
  e.output = Output{"42", Classification::answered, "stop", 3, 1};
  e.request_digest = std::string(64, 'a');
  e.reused_from = ExecutionKey{"job-1", "eu-west", "m", "q", 1};
  auto back = decode_event(encode(e));
  EXPECT_EQ(back.request_digest, e.request_digest);
  ASSERT_TRUE(back.reused_from);
  EXPECT_EQ(*back.reused_from, *e.reused_from);
  ResultEvent plain;
  plain.event = EventKind::started;
  plain.key = e.key;
  auto p = decode_event(encode(plain));
  EXPECT_FALSE(p.request_digest);
  EXPECT_FALSE(p.reused_from);
  const std::string head = R"({"v":1,"event":"completed","job_id":"j","region":"r","model_id":"m","sample":0,)";
  EXPECT_THROW(decode_event(head + R"("request_digest":"xyz"})"), BadInput);
  EXPECT_THROW(decode_event(head + R"("reused_from":{"job_id":"j k","region":"r","model_id":"m","sample":0}})"),
               BadInput);
}

}  // namespace beacon
