#include <beacon/infer/request_digest.hpp>

#include <set>

#include <gtest/gtest.h>

#include <beacon/core/errors.hpp>

namespace beacon::infer {
namespace {

EndpointConfig endpoint(const std::string& url = "http://gpu:8000/v1", Protocol p = Protocol::openai,
                        const std::string& served = "") {
  EndpointConfig ep;
  ep.region = "us-east";
  ep.url = url;
  ep.parsed_url = parse_url(url);
  ep.protocol = p;
  ep.served_model = served;
  return ep;
}

InferenceRequest request(const std::string& params = R"({"temperature": 0.1, "max_tokens": 64, "seed": 7})") {
  InferenceRequest r;
  r.model_id = "llama3.2-1b";
  r.region = "us-east";
  r.system_prompt = "You are a helpful assistant based in us-east.";
  r.prompt = "What is 2+2?";
  r.params_json = params;
  return r;
}

std::string digest(const EndpointConfig& ep, const InferenceRequest& r = request()) { return request_digest(ep, r); }

}  // namespace

TEST(RequestDigest, SameRequestSameDigestAndItIsHex) {
  const auto a = digest(endpoint(), request());
  EXPECT_EQ(a, digest(endpoint(), request()));
  ASSERT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  // What is never sent does not matter: the caller's tag, the API key, userinfo.
  auto tagged = request();
  tagged.caller_tag = "slot-9";
  auto keyed = endpoint("http://user:secret@gpu:8000/v1");
  keyed.api_key = "sk-other";
  EXPECT_EQ(a, digest(keyed, tagged));
  EXPECT_EQ(digest(endpoint("http://gpu:80/v1")), digest(endpoint("http://gpu/v1"))) << "default port spelt out";
}

TEST(RequestDigest, ParamsSpellingAndOrderDoNotMatter) {
  const auto a = digest(endpoint(), request(R"({"temperature": 0.1, "max_tokens": 64, "seed": 7})"));
  EXPECT_EQ(a, digest(endpoint(), request(R"({"seed": 7, "max_tokens": 64, "temperature": 0.10})")));
  EXPECT_EQ(a, digest(endpoint(), request(R"({ "max_tokens":64 ,"temperature":1e-1,"seed":7 })")));
}

TEST(RequestDigest, EveryPartOfTheRequestChangesIt) {
  const auto base = digest(endpoint(), request());
  std::set<std::string> seen{base};
  auto differs = [&](const std::string& d, const char* what) {
    EXPECT_TRUE(seen.insert(d).second) << what << " did not change the digest";
  };
  differs(digest(endpoint(), request(R"({"temperature": 0.2, "max_tokens": 64, "seed": 7})")), "temperature");
  differs(digest(endpoint(), request(R"({"temperature": 0.1, "max_tokens": 65, "seed": 7})")), "max_tokens");
  differs(digest(endpoint(), request(R"({"temperature": 0.1, "max_tokens": 64, "seed": 8})")), "seed");
  differs(digest(endpoint(), request(R"({"temperature": 0.1, "max_tokens": 64})")), "no seed");
  auto other_model = request();
  other_model.model_id = "mistral-7b";
  differs(digest(endpoint(), other_model), "model");
  differs(digest(endpoint("http://gpu:8000/v1", Protocol::openai, "org/Llama"), request()), "served model");
  differs(digest(endpoint("http://gpu:8001/v1"), request()), "endpoint port");
  differs(digest(endpoint("http://other:8000/v1"), request()), "endpoint host");
  differs(digest(endpoint("http://gpu:8000/v2"), request()), "endpoint path");
  differs(digest(endpoint("http://gpu:8000/v1", Protocol::beacon), request()), "protocol");
  auto other_prompt = request();
  other_prompt.prompt = "What is 2+3?";
  differs(digest(endpoint(), other_prompt), "prompt");
  auto other_system = request();
  other_system.system_prompt = "You are a helpful assistant based in eu-west.";
  differs(digest(endpoint(), other_system), "system prompt");
}

// Sample k sends seed + k: the samples of one question have k digests, and
// sample 1 of seed 7 is the very request sample 0 of seed 8 sends.
TEST(RequestDigest, SamplesNeverCollapse) {
  std::set<std::string> with_seed, without_seed;
  for (int k = 0; k < 3; ++k) {
    auto r = request();
    r.sample = k;
    with_seed.insert(digest(endpoint(), r));
    auto n = request(R"({"temperature": 0.1})");
    n.sample = k;
    without_seed.insert(digest(endpoint(), n));
    auto b = request();
    b.sample = k;
    without_seed.insert(digest(endpoint("http://gpu:8000/run", Protocol::beacon), b));  // beacon sends no seed
  }
  EXPECT_EQ(with_seed.size(), 3u);
  EXPECT_EQ(without_seed.size(), 6u);
  auto one = request();
  one.sample = 1;
  EXPECT_EQ(digest(endpoint(), one), digest(endpoint(), request(R"({"temperature": 0.1, "max_tokens": 64, "seed": 8})")));
}

TEST(RequestDigest, BadParamsThrowLikeBuildRequest) {
  EXPECT_THROW(digest(endpoint(), request(R"({"temperature": "hot"})")), BadInput);
  EXPECT_THROW(digest(endpoint(), request("[1]")), BadInput);
}

}  // namespace beacon::infer
