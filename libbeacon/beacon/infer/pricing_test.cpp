#include <beacon/infer/pricing.hpp>

#include <gtest/gtest.h>

namespace beacon::infer {
namespace {

Output usage(long prompt, long completion) {
  Output o;
  o.prompt_tokens = prompt;
  o.completion_tokens = completion;
  return o;
}

TEST(Pricing, NoPriceMeansNoCostRatherThanZero) {
  EXPECT_EQ(cost_usd(Prices{}, usage(1000, 1000), 500), std::nullopt);
}

TEST(Pricing, TokensArePricedPerMillionEachWay) {
  Prices p;
  p.per_million_input_tokens = 0.5;
  p.per_million_output_tokens = 1.5;
  EXPECT_DOUBLE_EQ(*cost_usd(p, usage(2'000'000, 1'000'000), 123), 0.5 * 2 + 1.5);
}

TEST(Pricing, TimeIsPricedPerSecondOfLatency) {
  Prices p;
  p.per_second = 0.001;
  EXPECT_DOUBLE_EQ(*cost_usd(p, Output{}, 2500), 0.0025);
}

TEST(Pricing, MissingUsageCountsNoTokens) {
  Prices p;
  p.per_million_output_tokens = 10;
  Output o;
  o.completion_tokens = 100;
  EXPECT_DOUBLE_EQ(*cost_usd(p, o, 0), 0.001);
  EXPECT_DOUBLE_EQ(*cost_usd(p, Output{}, 0), 0.0);
}

}  // namespace
}  // namespace beacon::infer
