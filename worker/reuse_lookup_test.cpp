#include "reuse_lookup.hpp"

#include <gtest/gtest.h>

#include <beacon/infer/request_digest.hpp>

#include "execution_request.hpp"

namespace beacon {
namespace {

ExecutionMessage message(ReusePolicy reuse = ReusePolicy::completed, int sample = 1) {
  ExecutionMessage m;
  m.key = {"job-2", "eu-west", "m1", "q1", sample};
  m.prompt = "Say a number";
  m.system_prompt = "You answer from {region}.";
  m.params_json = R"({"temperature": 0, "seed": 100})";
  m.submission = 2;
  m.reuse = reuse;
  return m;
}

infer::EndpointTable table() {
  return infer::EndpointTable::parse(R"({"endpoints": [{"region": "eu-west", "model": "*", "url": "http://gpu:8000/v1"}]})");
}

}  // namespace

// The identity the preflight looks up is the one stored with a paid answer:
// both come from the same request (execution_request.hpp).
TEST(ReuseIdentity, OnlyForReusingJobsWithAnEndpointAndEqualToThePaidRequest) {
  const auto t = table();
  EXPECT_FALSE(reuse_identity(t, message(ReusePolicy::none)));
  auto elsewhere = message();
  elsewhere.key.region = "us-east";
  EXPECT_FALSE(reuse_identity(t, elsewhere)) << "no endpoint entry: nothing to look up";
  auto bad = message();
  bad.params_json = R"({"temperature": "hot"})";
  EXPECT_FALSE(reuse_identity(t, bad)) << "a request never sent has no answer";
  auto id = reuse_identity(t, message());
  ASSERT_TRUE(id);
  EXPECT_EQ(id->seed, 101) << "sample 1 sends seed + 1";
  const auto* ep = t.find("eu-west", "m1");
  auto req = inference_request(message(), "slot-1");
  EXPECT_EQ(req.system_prompt, "You answer from eu-west.");
  EXPECT_EQ(id->digest, infer::request_digest(*ep, req));
  EXPECT_NE(reuse_identity(t, message(ReusePolicy::completed, 2))->digest, id->digest);
}

// Tokens are copied (what the answer is), cost is 0 (nothing was paid), no
// receipt (no request was made), and the source is named.
TEST(ReusedEvent, CopiesTheAnswerAtNoCostAndNamesItsSource) {
  db::ReusableAnswer a;
  a.source = ExecutionKey{"job-1", "eu-west", "m1", "q1", 1};
  a.output = Output{"42", Classification::answered, "stop", 12, 3};
  RequestIdentity id{std::string(64, 'b'), 101};
  auto e = reused_completed_event(message(), a, id, "w-9", "2026-12-02T06:00:00.000Z");
  EXPECT_EQ(e.event, EventKind::completed);
  EXPECT_EQ(e.key, message().key);
  EXPECT_EQ(e.submission, 2);
  EXPECT_EQ(e.worker_id, "w-9");
  ASSERT_TRUE(e.output);
  EXPECT_EQ(e.output->text, "42");
  EXPECT_EQ(e.output->prompt_tokens, 12);
  EXPECT_EQ(e.output->completion_tokens, 3);
  EXPECT_EQ(e.cost_usd, 0.0);
  EXPECT_FALSE(e.receipt);
  EXPECT_EQ(e.seed, 101);
  EXPECT_EQ(e.request_digest, id.digest);
  ASSERT_TRUE(e.reused_from);
  EXPECT_EQ(*e.reused_from, a.source);
  EXPECT_EQ(e.completed_at, "2026-12-02T06:00:00.000Z");
  // It survives the wire to the progress-writer.
  auto back = decode_event(encode(e));
  ASSERT_TRUE(back.reused_from);
  EXPECT_EQ(*back.reused_from, a.source);
}

}  // namespace beacon
