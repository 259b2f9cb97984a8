#include "sim_options.hpp"

#include <beacon/core/errors.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace beacon::sim {
namespace {

SimOptions parse(std::vector<std::string> args) {
  args.insert(args.begin(), "beacon-infer-sim");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_sim_options(static_cast<int>(argv.size()), argv.data());
}

TEST(SimOptions, Defaults) {
  const auto o = parse({"--port", "0"});
  EXPECT_EQ(o.port, 0);
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.latency_ms, 0);
  EXPECT_EQ(o.fail_rate, 0);
  EXPECT_EQ(o.threads, 1);
  EXPECT_EQ(o.mode.mode, Mode::normal);
  EXPECT_TRUE(o.tls_cert.empty());
}

TEST(SimOptions, AllFlags) {
  const auto o = parse({"--port=8080", "--host", "0.0.0.0", "--latency-ms", "200", "--jitter-ms=50", "--fail-rate",
                        "0.25", "--seed", "9", "--threads", "4", "--mode", "rate429", "--mode-count", "3",
                        "--retry-after-s", "5", "--delay-ms", "100", "--tls-cert", "c.pem", "--tls-key", "k.pem",
                        "--api-key-env", "SIM_KEY", "--log-level", "debug", "--log-format", "json"});
  EXPECT_EQ(o.port, 8080);
  EXPECT_EQ(o.host, "0.0.0.0");
  EXPECT_EQ(o.latency_ms, 200);
  EXPECT_EQ(o.jitter_ms, 50);
  EXPECT_DOUBLE_EQ(o.fail_rate, 0.25);
  EXPECT_EQ(o.seed, 9u);
  EXPECT_EQ(o.threads, 4);
  EXPECT_EQ(o.mode.mode, Mode::rate429);
  EXPECT_EQ(o.mode.count, 3);
  EXPECT_EQ(o.mode.retry_after_s, 5);
  EXPECT_EQ(o.mode.delay_ms, 100);
  EXPECT_EQ(o.tls_cert, "c.pem");
  EXPECT_EQ(o.tls_key, "k.pem");
  EXPECT_EQ(o.api_key_env, "SIM_KEY");
  EXPECT_EQ(o.log_level, "debug");
  EXPECT_EQ(o.log_format, LogFormat::json);
}

TEST(SimOptions, Help) { EXPECT_TRUE(parse({"--help"}).help); }

TEST(SimOptions, RejectsBadInput) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"--port", "70000"},
      {"--port", "x"},
      {"--port", "0", "--fail-rate", "1.5"},
      {"--port", "0", "--fail-rate", "abc"},
      {"--port", "0", "--latency-ms", "-1"},
      {"--port", "0", "--threads", "0"},
      {"--port", "0", "--mode", "chaos"},
      {"--port", "0", "--tls-cert", "c.pem"},
      {"--port", "0", "--bogus"},
      {"--port", "0", "extra"},
      {"--port", "0", "--log-format", "xml"},
      {"--port"},
  };
  for (const auto& args : bad) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_THROW(parse(args), BadInput) << joined;
  }
}

}  // namespace
}  // namespace beacon::sim
