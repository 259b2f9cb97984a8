#include <beacon/infer/endpoints.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include <beacon/core/errors.hpp>

namespace beacon::infer {
namespace {

// Expects parse() to throw BadInput whose message contains every fragment.
void expect_error(const std::string& text, std::initializer_list<std::string> fragments) {
  try {
    EndpointTable::parse(text);
    FAIL() << "no error for " << text;
  } catch (const BadInput& e) {
    for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

const char* kSpecExample = R"({
  "defaults": {"protocol": "openai", "timeout_s": 120, "max_in_flight": 64},
  "endpoints": [
    {"region": "us-east", "model": "*", "url": "http://gpu-us.internal:8000/v1"},
    {"region": "eu-west", "model": "mistral-7b", "url": "https://example.modal.run/v1",
     "served_model": "mistralai/Mistral-7B-Instruct-v0.3", "api_key_env": "BEACON_TEST_EU_KEY"}
  ]
})";

class EndpointTableTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("BEACON_TEST_EU_KEY", "tok-123", 1); }
  void TearDown() override { ::unsetenv("BEACON_TEST_EU_KEY"); }
};

TEST_F(EndpointTableTest, ParsesTheSpecExample) {
  auto t = EndpointTable::parse(kSpecExample);
  ASSERT_EQ(t.entries().size(), 2u);
  const auto& us = t.entries()[0];
  EXPECT_EQ(us.region, "us-east");
  EXPECT_EQ(us.model, "*");
  EXPECT_EQ(us.protocol, Protocol::openai);
  EXPECT_EQ(us.parsed_url.host, "gpu-us.internal");
  EXPECT_EQ(us.parsed_url.port, 8000);
  EXPECT_EQ(us.parsed_url.path, "/v1");
  EXPECT_EQ(us.max_in_flight, 64);
  EXPECT_DOUBLE_EQ(us.connect_timeout_s, 90);  // built-in default
  EXPECT_EQ(us.max_response_bytes, 4u * 1024 * 1024);
  const auto& eu = t.entries()[1];
  EXPECT_EQ(eu.served_model, "mistralai/Mistral-7B-Instruct-v0.3");
  EXPECT_EQ(eu.api_key, "tok-123");
  EXPECT_TRUE(eu.parsed_url.tls());
  EXPECT_EQ(eu.index, 1u);
}

TEST_F(EndpointTableTest, DefaultsApplyThenEntriesOverride) {
  auto t = EndpointTable::parse(R"({"defaults": {"timeout_s": 30, "max_attempts": 3, "protocol": "beacon"},
    "endpoints": [{"region": "r", "url": "http://h/", "timeout_s": 5},
                  {"region": "s", "url": "http://h/", "protocol": "openai"}]})");
  EXPECT_DOUBLE_EQ(t.entries()[0].timeout_s, 5);
  EXPECT_EQ(t.entries()[0].max_attempts, 3);
  EXPECT_EQ(t.entries()[0].protocol, Protocol::beacon);
  EXPECT_EQ(t.entries()[0].model, "*");  // absent model means any
  EXPECT_DOUBLE_EQ(t.entries()[1].timeout_s, 30);
  EXPECT_EQ(t.entries()[1].protocol, Protocol::openai);
}

TEST_F(EndpointTableTest, MostSpecificEntryWins) {
  auto t = EndpointTable::parse(R"({"endpoints": [
    {"region": "us", "model": "*", "url": "http://any/"},
    {"region": "us", "model": "llama", "url": "http://llama/"},
    {"region": "eu", "model": "qwen", "url": "http://qwen/"}]})");
  EXPECT_EQ(t.find("us", "llama")->parsed_url.host, "llama");
  EXPECT_EQ(t.find("us", "mistral")->parsed_url.host, "any");
  EXPECT_EQ(t.find("eu", "qwen")->parsed_url.host, "qwen");
  EXPECT_EQ(t.find("eu", "llama"), nullptr);
  EXPECT_EQ(t.find("asia", "llama"), nullptr);
  EXPECT_TRUE(t.has_region("eu"));
  EXPECT_FALSE(t.has_region("asia"));
}

TEST_F(EndpointTableTest, OrderDoesNotMatterForSpecificity) {
  auto t = EndpointTable::parse(R"({"endpoints": [
    {"region": "us", "model": "llama", "url": "http://llama/"},
    {"region": "us", "model": "*", "url": "http://any/"}]})");
  EXPECT_EQ(t.find("us", "llama")->parsed_url.host, "llama");
}

TEST_F(EndpointTableTest, ClearErrors) {
  expect_error("{not json", {"invalid JSON"});
  expect_error("[]", {"JSON object"});
  expect_error(R"({"endpoints": []})", {"endpoints", "empty"});
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://h/", "protocol": "grpc"}]})",
               {"endpoints[0].protocol", "grpc"});
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://h/"}, {"region": "r2", "url": "ftp://h/"}]})",
               {"endpoints[1].url", "http"});
  expect_error(R"({"endpoints": [{"url": "http://h/"}]})", {"endpoints[0].region", "missing"});
  expect_error(R"({"endpoints": [{"region": "r"}]})", {"endpoints[0].url", "missing"});
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://h/", "max_in_flight": 0}]})",
               {"endpoints[0].max_in_flight", "> 0"});
  // More than the progress-writer stores would be paid for and then lost.
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://h/", "max_response_bytes": 4194305}]})",
               {"endpoints[0].max_response_bytes", "at most 4194304"});
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://h/", "timeout_s": -1}]})",
               {"endpoints[0].timeout_s", "> 0"});
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://h/", "max_attempts": 1.5}]})",
               {"endpoints[0].max_attempts", "integer"});
  expect_error(R"({"defaults": {"circuit_open_s": 0}, "endpoints": [{"region": "r", "url": "http://h/"}]})",
               {"defaults.circuit_open_s", "> 0"});
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://h/", "timout_s": 5}]})",
               {"endpoints[0].timout_s", "unknown field"});
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://h/"}, {"region": "r", "url": "http://g/"}]})",
               {"endpoints[1]", "duplicate"});
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://h/", "backoff_initial_ms": 100, "backoff_max_ms": 50}]})",
               {"endpoints[0].backoff_max_ms"});
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://h/", "ca_file": "/no/such/ca.pem"}]})",
               {"endpoints[0].ca_file"});
}

TEST_F(EndpointTableTest, RedirectHostsAreOptionalLowerCasedAndChecked) {
  auto t = EndpointTable::parse(R"({"defaults": {"redirect_hosts": ["Results.Example.COM", "[::1]"]},
    "endpoints": [{"region": "r", "url": "http://h/"},
                  {"region": "s", "url": "http://h/", "redirect_hosts": []}]})");
  EXPECT_EQ(t.entries()[0].redirect_hosts, (std::vector<std::string>{"results.example.com", "::1"}));
  EXPECT_TRUE(t.entries()[1].redirect_hosts.empty());
  EXPECT_TRUE(EndpointTable::parse(R"({"endpoints": [{"region": "r", "url": "http://h/"}]})")
                  .entries()[0]
                  .redirect_hosts.empty());
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://h/", "redirect_hosts": "x"}]})",
               {"endpoints[0].redirect_hosts", "array"});
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://h/", "redirect_hosts": ["ok", 3]}]})",
               {"endpoints[0].redirect_hosts[1]", "string"});
  for (const char* bad : {"https://x", "x:8080", "x/path", ""}) {
    expect_error(std::string(R"({"endpoints": [{"region": "r", "url": "http://h/", "redirect_hosts": [")") + bad +
                     R"("]}]})",
                 {"endpoints[0].redirect_hosts[0]", "bare host name"});
  }
}

TEST_F(EndpointTableTest, UnsetApiKeyVariableIsAnErrorNamingTheVariable) {
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://h/", "api_key_env": "BEACON_TEST_UNSET_VAR"}]})",
               {"endpoints[0].api_key_env", "BEACON_TEST_UNSET_VAR", "not set"});
}

TEST_F(EndpointTableTest, ErrorsNeverContainSecrets) {
  ::setenv("BEACON_TEST_SECRET", "super-secret-token", 1);
  try {
    EndpointTable::parse(R"({"endpoints": [{"region": "r", "url": "http://u:pw-in-url@h:bad/",
                             "api_key_env": "BEACON_TEST_SECRET"}]})");
    FAIL();
  } catch (const BadInput& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find("super-secret-token"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("pw-in-url"), std::string::npos) << msg;
  }
  ::unsetenv("BEACON_TEST_SECRET");
}

TEST_F(EndpointTableTest, LoadFileNamesThePath) {
  const auto dir = std::filesystem::temp_directory_path() / ("beacon-endpoints-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto good = dir / "good.json";
  std::ofstream(good) << kSpecExample;
  EXPECT_EQ(EndpointTable::load_file(good.string()).entries().size(), 2u);
  const auto bad = dir / "bad.json";
  std::ofstream(bad) << R"({"endpoints": [{"region": "r"}]})";
  try {
    EndpointTable::load_file(bad.string());
    FAIL();
  } catch (const BadInput& e) {
    EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("endpoints[0].url"), std::string::npos) << e.what();
  }
  EXPECT_THROW(EndpointTable::load_file((dir / "missing.json").string()), BadInput);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace beacon::infer

namespace beacon::infer {
namespace {

TEST(EndpointPrices, ReadFromDefaultsAndEntriesAndChecked) {
  auto t = EndpointTable::parse(R"({"defaults": {"price_per_million_input_tokens": 0.15},
    "endpoints": [{"region": "r", "url": "http://gpu:8000/v1", "price_per_million_output_tokens": 0.6},
                  {"region": "s", "url": "http://modal.example/v1", "protocol": "beacon", "price_per_second": 0.0011}]})");
  ASSERT_EQ(t.entries().size(), 2u);
  EXPECT_DOUBLE_EQ(t.entries()[0].prices.per_million_input_tokens, 0.15);
  EXPECT_DOUBLE_EQ(t.entries()[0].prices.per_million_output_tokens, 0.6);
  EXPECT_DOUBLE_EQ(t.entries()[1].prices.per_second, 0.0011);
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://g/v1", "price_per_second": -1}]})",
               {"endpoints[0].price_per_second", ">= 0"});
  expect_error(R"({"endpoints": [{"region": "r", "url": "http://g/v1", "price_per_million_input_tokens": "cheap"}]})",
               {"endpoints[0].price_per_million_input_tokens", "number"});
}

TEST(EndpointPrices, AReloadTakesNewPricesForTheSameEntriesOnly) {
  auto t = EndpointTable::parse(R"({"endpoints": [
    {"region": "r", "url": "http://gpu:8000/v1", "price_per_million_output_tokens": 0.6},
    {"region": "s", "url": "http://gpu:8000/v1"}]})");
  const auto* before = t.find("r", "any");
  const auto fresh = EndpointTable::parse(R"({"endpoints": [
    {"region": "r", "url": "http://gpu:8000/v1", "price_per_million_output_tokens": 0.9},
    {"region": "s", "url": "http://other:8000/v1", "price_per_second": 1},
    {"region": "t", "url": "http://gpu:8000/v1", "price_per_second": 1}]})");
  EXPECT_EQ(t.take_prices_from(fresh), 1u);
  EXPECT_EQ(t.find("r", "any"), before) << "entries stay where requests point to them";
  EXPECT_DOUBLE_EQ(t.find("r", "any")->prices.per_million_output_tokens, 0.9);
  EXPECT_FALSE(t.find("s", "any")->prices.any()) << "another URL is another entry: routing needs a restart";
  EXPECT_EQ(t.find("t", "any"), nullptr);
  EXPECT_EQ(t.take_prices_from(fresh), 0u) << "nothing left to change";
}

}  // namespace
}  // namespace beacon::infer
