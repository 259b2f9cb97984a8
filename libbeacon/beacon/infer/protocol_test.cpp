#include <beacon/infer/protocol.hpp>

#include <gtest/gtest.h>

#include <beacon/core/errors.hpp>
#include <beacon/core/json.hpp>

namespace beacon::infer {
namespace {

EndpointConfig endpoint(Protocol p, const std::string& url, const std::string& served = "") {
  EndpointConfig ep;
  ep.region = "us-east";
  ep.url = url;
  ep.parsed_url = parse_url(url);
  ep.protocol = p;
  ep.served_model = served;
  return ep;
}

InferenceRequest request() {
  InferenceRequest r;
  r.model_id = "llama3.2-1b";
  r.region = "us-east";
  r.system_prompt = "You are a helpful assistant based in us-east.";
  r.prompt = "What is 2+2?";
  r.params_json = R"({"temperature": 0.1, "max_tokens": 512, "seed": 7, "top_k": 3})";
  return r;
}

TEST(Protocol, OpenAiRequest) {
  auto wire = build_request(endpoint(Protocol::openai, "http://gpu:8000/v1/"), request());
  EXPECT_EQ(wire.url.to_string(), "http://gpu:8000/v1/chat/completions");
  auto doc = json::parse(wire.body);
  EXPECT_STREQ(doc["model"].GetString(), "llama3.2-1b");
  ASSERT_EQ(doc["messages"].Size(), 2u);
  EXPECT_STREQ(doc["messages"][0]["role"].GetString(), "system");
  EXPECT_STREQ(doc["messages"][0]["content"].GetString(), "You are a helpful assistant based in us-east.");
  EXPECT_STREQ(doc["messages"][1]["role"].GetString(), "user");
  EXPECT_STREQ(doc["messages"][1]["content"].GetString(), "What is 2+2?");
  EXPECT_DOUBLE_EQ(doc["temperature"].GetDouble(), 0.1);
  EXPECT_EQ(doc["max_tokens"].GetInt(), 512);
  EXPECT_EQ(doc["seed"].GetInt(), 7);
  EXPECT_FALSE(doc.HasMember("top_k"));  // only the documented parameters travel
}

TEST(Protocol, OpenAiRequestUsesServedModelOmitsEmptySystemAndAbsentParams) {
  auto req = request();
  req.system_prompt.clear();
  req.params_json = "{}";
  auto wire = build_request(endpoint(Protocol::openai, "https://x.modal.run/v1?api-version=2", "org/Model"), req);
  EXPECT_EQ(wire.url.target(), "/v1/chat/completions?api-version=2");
  auto doc = json::parse(wire.body);
  EXPECT_STREQ(doc["model"].GetString(), "org/Model");
  ASSERT_EQ(doc["messages"].Size(), 1u);
  EXPECT_STREQ(doc["messages"][0]["role"].GetString(), "user");
  EXPECT_FALSE(doc.HasMember("temperature"));
  EXPECT_FALSE(doc.HasMember("seed"));
}

TEST(Protocol, SampleKSendsSeedPlusK) {
  auto ep = endpoint(Protocol::openai, "http://gpu:8000/v1");
  for (int k : {0, 1, 2}) {
    auto req = request();
    req.sample = k;
    EXPECT_EQ(json::parse(build_request(ep, req).body)["seed"].GetInt64(), 7 + k);
    EXPECT_EQ(sent_seed(ep, req), 7 + k);
  }
  auto req = request();
  req.params_json = R"({"seed": 9223372036854775807})";
  req.sample = 1;
  EXPECT_THROW(build_request(ep, req), BadInput) << "seed + sample must not overflow silently";
  req.params_json = "{}";
  EXPECT_EQ(sent_seed(ep, req), std::nullopt) << "no seed in the params: none is sent or stored";
  req = request();
  EXPECT_EQ(sent_seed(endpoint(Protocol::beacon, "https://me--beacon-generate.modal.run"), req), std::nullopt)
      << "the beacon protocol has no seed field";
}

TEST(Protocol, BeaconRequest) {
  auto wire = build_request(endpoint(Protocol::beacon, "https://me--beacon-generate.modal.run"), request());
  EXPECT_EQ(wire.url.to_string(), "https://me--beacon-generate.modal.run/");
  auto doc = json::parse(wire.body);
  EXPECT_STREQ(doc["model"].GetString(), "llama3.2-1b");
  EXPECT_STREQ(doc["prompt"].GetString(), "What is 2+2?");
  EXPECT_STREQ(doc["system_prompt"].GetString(), "You are a helpful assistant based in us-east.");
  EXPECT_DOUBLE_EQ(doc["temperature"].GetDouble(), 0.1);
  EXPECT_EQ(doc["max_tokens"].GetInt(), 512);
  EXPECT_STREQ(doc["region"].GetString(), "us-east");
}

TEST(Protocol, BadParamsAreBadInput) {
  auto req = request();
  req.params_json = R"({"temperature": "hot"})";
  EXPECT_THROW(build_request(endpoint(Protocol::openai, "http://h/v1"), req), BadInput);
  req.params_json = "[1]";
  EXPECT_THROW(build_request(endpoint(Protocol::openai, "http://h/v1"), req), BadInput);
}

TEST(Protocol, ParsesOpenAiResponse) {
  auto r = parse_response(Protocol::openai, R"({"id": "chatcmpl-1", "object": "chat.completion",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 21, "completion_tokens": 1, "total_tokens": 22}})");
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(r.output.text, "4");
  EXPECT_EQ(r.output.classification, Classification::answered);
  EXPECT_EQ(r.output.finish_reason, "stop");
  EXPECT_EQ(r.output.prompt_tokens, 21);
  EXPECT_EQ(r.output.completion_tokens, 1);
  EXPECT_EQ(r.provider_id, "chatcmpl-1");
}

TEST(Protocol, OpenAiRefusalAndEmptyAndParts) {
  auto refused = parse_response(Protocol::openai,
                                R"({"choices": [{"message": {"content": "I'm sorry, but I can't help with that."},
                                    "finish_reason": "stop"}]})");
  EXPECT_EQ(refused.output.classification, Classification::refused);
  auto structured = parse_response(Protocol::openai,
                                   R"({"choices": [{"message": {"content": null, "refusal": "No."}}]})");
  ASSERT_TRUE(structured.ok);
  EXPECT_EQ(structured.output.text, "No.");
  EXPECT_EQ(structured.output.classification, Classification::refused);
  auto empty = parse_response(Protocol::openai, R"({"choices": [{"message": {"content": "  "}}]})");
  ASSERT_TRUE(empty.ok);
  EXPECT_EQ(empty.output.classification, Classification::empty);
  EXPECT_FALSE(empty.output.prompt_tokens.has_value());
  auto parts = parse_response(Protocol::openai,
                              R"({"choices": [{"message": {"content": [{"type": "text", "text": "a"},
                                                                         {"type": "text", "text": "b"}]}}]})");
  EXPECT_EQ(parts.output.text, "ab");
}

TEST(Protocol, UnusableBodiesAreProtocolErrorsWithBoundedExcerpt) {
  const std::string long_garbage = "<html>" + std::string(5000, 'x') + "</html>";
  for (const std::string& body : {long_garbage, std::string("[1,2]"), std::string(R"({"choices": []})"),
                                  std::string(R"({"choices": [{"text": "legacy"}]})"), std::string("")}) {
    auto r = parse_response(Protocol::openai, body);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error.kind, ErrorKind::protocol) << body.substr(0, 50);
    EXPECT_LT(r.error.message.size(), kExcerptBytes + 200);
  }
  auto r = parse_response(Protocol::openai, long_garbage);
  EXPECT_NE(r.error.message.find("<html>xxx"), std::string::npos);
}

TEST(Protocol, OpenAiErrorObjectIsProviderError) {
  auto r = parse_response(Protocol::openai, R"({"error": {"message": "model not loaded", "type": "invalid"}})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.kind, ErrorKind::provider);
  EXPECT_NE(r.error.message.find("model not loaded"), std::string::npos);
}

TEST(Protocol, ParsesBeaconSuccessKeepingReceiptRaw) {
  auto r = parse_response(Protocol::beacon, R"({"success": true, "response": "Paris.", "model": "qwen2.5-1.5b",
    "inference_time": 1.25, "receipt": {"request_id": "req-9", "region": "eu-west", "gpu": "A10G"}})");
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(r.output.text, "Paris.");
  EXPECT_EQ(r.output.classification, Classification::answered);
  EXPECT_EQ(r.provider_id, "req-9");
  auto receipt = json::parse(r.provider_receipt_json);
  EXPECT_STREQ(receipt["gpu"].GetString(), "A10G");
}

TEST(Protocol, BeaconFailureIsProviderError) {
  auto r = parse_response(Protocol::beacon, R"({"success": false, "error": "CUDA out of memory"})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.kind, ErrorKind::provider);
  EXPECT_NE(r.error.message.find("CUDA out of memory"), std::string::npos);
  auto bad = parse_response(Protocol::beacon, R"({"response": "x"})");
  EXPECT_EQ(bad.error.kind, ErrorKind::protocol);
}

TEST(Protocol, ExcerptIsBoundedAndValidUtf8) {
  EXPECT_EQ(body_excerpt("short"), "short");
  const std::string big(2000, 'a');
  EXPECT_EQ(body_excerpt(big).size(), kExcerptBytes);
  // 3-byte characters must not be cut in half.
  std::string chinese;
  for (int i = 0; i < 400; ++i) chinese += "\u4E2D";
  auto e = body_excerpt(chinese, 10);
  EXPECT_EQ(e, "\u4E2D\u4E2D...");
  EXPECT_EQ(body_excerpt(std::string("a\xff" "b")), "a?b");
}

}  // namespace
}  // namespace beacon::infer
