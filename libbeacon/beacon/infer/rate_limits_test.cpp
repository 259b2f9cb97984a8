// The arithmetic of fleet-wide rate limits: leases that accrue over their
// span, forfeit what was not used, token debt; the shared schedule (book);
// the standalone limiter; published-limit headers; quota detection; AIMD;
// the endpoint-file fields.
#include <beacon/infer/aimd.hpp>
#include <beacon/infer/lease_schedule.hpp>
#include <beacon/infer/rate_limits.hpp>
#include <beacon/infer/server_limits.hpp>
#include <beacon/infer/endpoints.hpp>
#include <beacon/infer/token_estimate.hpp>

#include <cstdlib>

#include <gtest/gtest.h>

#include <beacon/core/errors.hpp>

namespace beacon::infer {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(LeaseSchedule, ALeaseAccruesEvenlyOverItsSpan) {
  LeaseSchedule s;
  const auto t0 = Clock::now();
  s.add(10, t0, t0 + 1s);
  EXPECT_DOUBLE_EQ(s.available(t0), 0);
  EXPECT_NEAR(s.available(t0 + 100ms), 1, 1e-9);
  EXPECT_NEAR(s.ahead(t0 + 100ms), 9, 1e-9);
  // Used as it accrues, the whole lease goes out across its span.
  double sent = 0;
  for (auto t = t0 + 100ms; t <= t0 + 1s; t += 100ms) {
    while (s.available(t) >= 1 - 1e-9) {
      s.take(1);
      sent += 1;
    }
  }
  EXPECT_NEAR(sent, 10, 1e-9);
  EXPECT_NEAR(s.ahead(t0 + 1s), 0, 1e-9);
}

// A worker stalled through its whole lease (a busy machine) would send the
// lease at once on top of what the next worker was granted for that moment:
// the old schedule let it (10 here); now it gets kBurst of the rate.
TEST(LeaseSchedule, AStalledWorkerCannotBurstWhatAccruedWhileItStalled) {
  LeaseSchedule s;
  const auto t0 = Clock::now();
  s.add(10, t0, t0 + 1s);
  EXPECT_DOUBLE_EQ(s.available(t0), 0);
  EXPECT_NEAR(s.available(t0 + 1s), 2.5, 1e-9) << "kBurst (250 ms) of 10 per second";
}

TEST(LeaseSchedule, ASlowLeaseOfOneRequestCanStillBeUsed) {
  LeaseSchedule s;
  const auto t0 = Clock::now();
  s.add(1, t0, t0 + 10s);  // 6 requests a minute
  EXPECT_NEAR(s.available(t0 + 10s), 1, 1e-9) << "the cap is one unit at least";
}

TEST(LeaseSchedule, WhatWasNotUsedByTheLeasesEndIsForfeited) {
  LeaseSchedule s;
  const auto t0 = Clock::now();
  s.add(10, t0, t0 + 1s);
  s.take(1);
  EXPECT_NEAR(s.available(t0 + 1s + LeaseSchedule::kBurst - 1ms), 2.5, 1e-9) << "kept, to the burst, a moment";
  EXPECT_DOUBLE_EQ(s.available(t0 + 1s + LeaseSchedule::kBurst), 0) << "then forfeited: no hoarding";
}

TEST(LeaseSchedule, TokenDebtIsPaidByLaterLeasesFirst) {
  LeaseSchedule s;
  const auto t0 = Clock::now();
  s.add(100, t0, t0 + 1s);
  s.take(400);  // one request costing more than was leased
  EXPECT_NEAR(s.available(t0 + 2s), -300, 1e-9) << "a debt is kept past the lease's end";
  s.add(200, t0 + 2s, t0 + 3s);
  EXPECT_NEAR(s.available(t0 + 3s), -100, 1e-9);
  s.give_back(150);  // the usage was lower than estimated
  EXPECT_NEAR(s.available(t0 + 3s), 50, 1e-9);
}

TEST(LeaseSchedule, WhenAvailableLooksIntoTheLeasesHeld) {
  LeaseSchedule s;
  const auto t0 = Clock::now();
  EXPECT_FALSE(s.when_available(1, t0)) << "nothing held: a lease is needed first";
  s.add(10, t0 + 1s, t0 + 2s);
  auto t = s.when_available(1, t0);
  ASSERT_TRUE(t);
  EXPECT_NEAR(std::chrono::duration<double>(*t - t0).count(), 1.1, 1e-6);
  EXPECT_FALSE(s.when_available(11, t0));
  EXPECT_EQ(*s.booked_until(t0), t0 + 2s);
}

TEST(Booking, LeasesFollowEachOtherAtTheRateAndNeverStartPastTheHorizon) {
  double booked = 0;
  // 10 per second: a lease of 5 covers half a second.
  Booking a = book(booked, 100.0, 5, 10, 1.0);
  EXPECT_DOUBLE_EQ(a.amount, 5);
  EXPECT_DOUBLE_EQ(a.start, 100.0);
  EXPECT_DOUBLE_EQ(a.end, 100.5);
  Booking b = book(booked, 100.0, 10, 10, 1.0);  // another worker, same instant
  EXPECT_DOUBLE_EQ(b.start, 100.5);
  EXPECT_DOUBLE_EQ(b.end, 101.5);
  Booking c = book(booked, 100.1, 10, 10, 1.0);  // booked until 101.5 > 100.1 + 1: refused
  EXPECT_DOUBLE_EQ(c.amount, 0);
  EXPECT_DOUBLE_EQ(booked, 101.5);
  // Idle since: nothing accumulates (no burst after a quiet period).
  Booking d = book(booked, 200.0, 10, 10, 1.0);
  EXPECT_DOUBLE_EQ(d.start, 200.0);
  EXPECT_DOUBLE_EQ(d.end, 201.0);
}

// Without a leaser the process enforces the limit alone: over 10 simulated
// seconds of constant demand, 600/min lets through about 100 requests.
TEST(FleetRateLimits, StandaloneItHoldsTheLimitOverTime) {
  FleetRateLimits limits;
  limits.configure("k", {600, 0}, "http://sim/v1");
  ASSERT_TRUE(limits.limited("k"));
  const auto t0 = Clock::now();
  int sent = 0;
  for (auto t = t0; t < t0 + 10s; t += 5ms) {
    limits.set_demand("k", "entry", 50, 0);
    Clock::time_point retry{};
    while (limits.try_take("k", 0, t, retry)) ++sent;
  }
  EXPECT_GE(sent, 95);
  EXPECT_LE(sent, 101);
}

TEST(FleetRateLimits, TokensPerMinuteHoldsWithDebtAndCorrections) {
  FleetRateLimits limits;
  limits.configure("k", {0, 6000}, "http://sim/v1");  // 100 tokens a second
  const auto t0 = Clock::now();
  double tokens = 0;
  for (auto t = t0; t < t0 + 10s; t += 5ms) {
    limits.set_demand("k", "entry", 5, 250);
    Clock::time_point retry{};
    while (limits.try_take("k", 50, t, retry)) {
      tokens += 50;
      limits.correct_tokens("k", 10);  // each used 60, not 50
      tokens += 10;
    }
  }
  EXPECT_GE(tokens, 900);
  EXPECT_LE(tokens, 1000 + 60) << "at most one request beyond the limit (the debt)";
}

TEST(FleetRateLimits, NeedsAskForAShareOfOneSpanAndNothingWhenEnoughIsBooked) {
  FleetRateLimits limits;
  limits.attach_leaser();
  limits.configure("k", {600, 0}, "http://sim/v1");
  const auto t0 = Clock::now();
  EXPECT_TRUE(limits.needs(t0).empty()) << "no demand, no lease";
  limits.set_demand("k", "entry", 100, 0);
  auto needs = limits.needs(t0);
  ASSERT_EQ(needs.size(), 1u);
  EXPECT_DOUBLE_EQ(needs[0].requests.wanted, 10) << "one span (1 s) of 10/s";
  EXPECT_DOUBLE_EQ(needs[0].requests.rate_per_s, 10);
  limits.grant("k", {10, t0, t0 + 1s}, {});
  EXPECT_TRUE(limits.needs(t0).empty());
  Clock::time_point retry{};
  // Taken as it accrues (capacity not used within LeaseSchedule::kBurst is forfeited).
  for (int i = 1; i <= 6; ++i) ASSERT_TRUE(limits.try_take("k", 0, t0 + i * 100ms, retry)) << i;
  EXPECT_FALSE(limits.needs(t0 + 600ms).empty()) << "less than half a span left: book the next";
  limits.set_demand("k", "entry", 2, 0);
  EXPECT_TRUE(limits.needs(t0 + 600ms).empty()) << "what is held covers a small demand";
}

TEST(ServerLimits, ResetDurationsInEveryFormGatewaysSend) {
  EXPECT_EQ(parse_reset_duration("1s"), 1000ms);
  EXPECT_EQ(parse_reset_duration("6m0s"), 360000ms);
  EXPECT_EQ(parse_reset_duration("20ms"), 20ms);
  EXPECT_EQ(parse_reset_duration("1h2m3.5s"), 3723500ms);
  EXPECT_EQ(parse_reset_duration("0.5"), 500ms);
  EXPECT_EQ(parse_reset_duration(" 2s "), 2000ms);
  EXPECT_FALSE(parse_reset_duration(""));
  EXPECT_FALSE(parse_reset_duration("soon"));
  EXPECT_FALSE(parse_reset_duration("5x"));
  EXPECT_FALSE(parse_reset_duration("-1s"));
  EXPECT_FALSE(parse_reset_duration("100h")) << "more than a day is not believed";
}

TEST(ServerLimits, PublishedLimitsFromHeadersIgnoringUnreadableValues) {
  auto p = parse_published_limits({{"x-ratelimit-remaining-requests", "59"},
                                   {"x-ratelimit-remaining-tokens", "149500"},
                                   {"x-ratelimit-reset-requests", "1s"},
                                   {"x-ratelimit-reset-tokens", "6m0s"}});
  EXPECT_TRUE(p.any());
  EXPECT_EQ(p.remaining_requests, 59);
  EXPECT_EQ(p.remaining_tokens, 149500);
  EXPECT_EQ(p.reset_requests, 1000ms);
  EXPECT_EQ(p.reset_tokens, 360000ms);
  auto bad = parse_published_limits({{"x-ratelimit-remaining-requests", "lots"}, {"x-ratelimit-reset-requests", "?"}});
  EXPECT_FALSE(bad.any());
  EXPECT_FALSE(bad.reset_requests);
  EXPECT_FALSE(parse_published_limits({}).any());
}

TEST(ServerLimits, QuotaExhaustedIsA429ThatSaysQuotaOrBilling) {
  EXPECT_TRUE(is_quota_exhausted(
      429, R"({"error":{"message":"You exceeded your current quota, please check your plan and billing details.",)"
           R"("type":"insufficient_quota","code":"insufficient_quota"}})"));
  EXPECT_TRUE(is_quota_exhausted(429, R"({"error":{"message":"Billing hard limit has been reached"}})"));
  EXPECT_FALSE(is_quota_exhausted(429, R"({"error":{"message":"Rate limit reached for requests","type":"requests"}})"))
      << "an ordinary rate limit";
  EXPECT_FALSE(is_quota_exhausted(500, R"({"error":"insufficient_quota"})")) << "only a 429";
}

TEST(Aimd, AdditiveIncreaseOnePerCapsWorthOfSuccesses) {
  Aimd a(1, 64);
  EXPECT_EQ(a.limit(), 1);
  a.on_success();
  EXPECT_EQ(a.limit(), 2);
  a.on_success();
  EXPECT_EQ(a.limit(), 2);
  a.on_success();
  EXPECT_EQ(a.limit(), 3);
  for (int i = 0; i < 3000; ++i) a.on_success();  // about 64^2 / 2 to get there
  EXPECT_EQ(a.limit(), 64) << "never above max_in_flight_limit";
}

TEST(Aimd, MultiplicativeDecreaseOncePerEpisodeNeverBelowTheMinimum) {
  Aimd a(2, 64);
  for (int i = 0; i < 200; ++i) a.on_success();
  const int before = a.limit();
  ASSERT_GT(before, 10);
  const auto t0 = Clock::now();
  EXPECT_TRUE(a.on_overload(t0, t0 + 1s));
  EXPECT_EQ(a.limit(), before / 2);
  // Requests sent before the decrease fail too (they went out under the old
  // cap): the same episode, no second halving.
  EXPECT_FALSE(a.on_overload(t0 + 500ms, t0 + 1100ms));
  EXPECT_EQ(a.limit(), before / 2);
  // A request sent after the decrease that fails: a new episode.
  EXPECT_TRUE(a.on_overload(t0 + 2s, t0 + 3s));
  EXPECT_EQ(a.limit(), before / 4);
  for (int i = 0; i < 10; ++i) a.on_overload(t0 + 4s + i * 1s, t0 + 4s + i * 1s + 1ms);
  EXPECT_EQ(a.limit(), 2) << "min_in_flight is the floor";
}

// Expects parse() to throw BadInput whose message contains `fragment`.
void expect_error(const std::string& text, const std::string& fragment) {
  try {
    EndpointTable::parse(text);
    FAIL() << "no error for " << text;
  } catch (const BadInput& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

std::string file_with(const std::string& defaults, const std::string& entry_fields) {
  return R"({"defaults": )" + defaults + R"(, "endpoints": [{"region": "r", "url": "http://gpu:8000/v1")" +
         entry_fields + "}]}";
}

TEST(RateLimitFields, ParsedFromDefaultsAndEntries) {
  auto t = EndpointTable::parse(file_with(R"({"requests_per_minute": 600, "quota_probe_s": 30})",
                                          R"(, "tokens_per_minute": 90000, "max_in_flight": "auto",)"
                                          R"( "min_in_flight": 2, "max_in_flight_limit": 40)"));
  const auto& e = t.entries().at(0);
  EXPECT_EQ(e.requests_per_minute, 600);
  EXPECT_EQ(e.tokens_per_minute, 90000);
  EXPECT_DOUBLE_EQ(e.quota_probe_s, 30);
  EXPECT_TRUE(e.auto_in_flight);
  EXPECT_EQ(e.min_in_flight, 2);
  EXPECT_EQ(e.max_in_flight_limit, 40);
  EXPECT_EQ(e.max_in_flight, 40) << "auto: connections are kept for the largest cap";
  auto plain = EndpointTable::parse(file_with("{}", ""));
  EXPECT_EQ(plain.entries().at(0).requests_per_minute, 0) << "no limit unless given";
  EXPECT_FALSE(plain.entries().at(0).auto_in_flight);
}

TEST(RateLimitFields, BadValuesAreClearErrors) {
  expect_error(file_with("{}", R"(, "requests_per_minute": 0)"), "endpoints[0].requests_per_minute: must be > 0");
  expect_error(file_with("{}", R"(, "requests_per_minute": 1.5)"), "requests_per_minute: must be an integer");
  expect_error(file_with(R"({"tokens_per_minute": "lots"})", ""), "defaults.tokens_per_minute: must be an integer");
  expect_error(file_with("{}", R"(, "tokens_per_minute": 10000000000000)"), "tokens_per_minute: at most");
  expect_error(file_with("{}", R"(, "max_in_flight": "adaptive")"), "max_in_flight: must be a positive integer or");
  expect_error(file_with("{}", R"(, "max_in_flight": "auto", "min_in_flight": 50, "max_in_flight_limit": 10)"),
               "min_in_flight: must be <= max_in_flight_limit");
  expect_error(file_with("{}", R"(, "quota_probe_s": -1)"), "quota_probe_s: must be > 0");
}

// Entries with the same url and key share a limit whatever region or model;
// another key is another limit; the key never appears in the limit's name.
TEST(RateLimitFields, OneLimitPerUrlAndKeyNamedByAHash) {
  ::setenv("BEACON_TEST_RL_KEY_A", "secret-a", 1);
  ::setenv("BEACON_TEST_RL_KEY_B", "secret-b", 1);
  auto t = EndpointTable::parse(R"({"endpoints": [
    {"region": "us", "model": "*", "url": "http://gw:8000/v1", "api_key_env": "BEACON_TEST_RL_KEY_A"},
    {"region": "eu", "model": "m2", "url": "http://gw:8000/v1", "api_key_env": "BEACON_TEST_RL_KEY_A"},
    {"region": "ap", "model": "*", "url": "http://gw:8000/v1", "api_key_env": "BEACON_TEST_RL_KEY_B"},
    {"region": "sa", "model": "*", "url": "http://other:8000/v1", "api_key_env": "BEACON_TEST_RL_KEY_A"}]})");
  const auto& e = t.entries();
  EXPECT_EQ(e[0].limit_key, e[1].limit_key);
  EXPECT_NE(e[0].limit_key, e[2].limit_key);
  EXPECT_NE(e[0].limit_key, e[3].limit_key);
  EXPECT_EQ(e[0].limit_key.size(), 64u) << "SHA-256 in hex";
  EXPECT_EQ(e[0].limit_key.find("secret"), std::string::npos);
  ::unsetenv("BEACON_TEST_RL_KEY_A");
  ::unsetenv("BEACON_TEST_RL_KEY_B");
}

TEST(TokenEstimate, PromptLengthOverFourPlusMaxTokens) {
  InferenceRequest r;
  r.system_prompt = std::string(40, 's');
  r.prompt = std::string(360, 'p');
  r.params_json = R"({"max_tokens": 512, "temperature": 0.1})";
  EXPECT_DOUBLE_EQ(estimate_tokens(r), 100 + 512);
  r.params_json = R"({"max_completion_tokens": 64})";
  EXPECT_DOUBLE_EQ(estimate_tokens(r), 100 + 64);
  r.params_json = "{}";
  EXPECT_DOUBLE_EQ(estimate_tokens(r), 100 + kAssumedMaxTokens) << "the server decides the length: assumed";
  r.params_json = "not json";
  EXPECT_DOUBLE_EQ(estimate_tokens(r), 100 + kAssumedMaxTokens);
}

}  // namespace
}  // namespace beacon::infer
