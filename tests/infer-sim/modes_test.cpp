#include "modes.hpp"

#include <beacon/core/errors.hpp>
#include <gtest/gtest.h>

namespace beacon::sim {
namespace {

TEST(Modes, ParsesEveryName) {
  for (const char* name : {"normal", "fail503", "burst503", "rate429", "slow", "malformed", "reset", "oversized", "long_answer",
                           "redirect", "bad_request", "down"}) {
    auto m = mode_from_string(name);
    ASSERT_TRUE(m) << name;
    EXPECT_EQ(to_string(*m), name);
  }
  EXPECT_FALSE(mode_from_string("broken"));
}

TEST(Modes, ParsesJson) {
  const auto s = parse_mode_json(R"({"mode":"rate429","count":3,"retry_after_s":7,"delay_ms":10})");
  EXPECT_EQ(s.mode, Mode::rate429);
  EXPECT_EQ(s.count, 3);
  EXPECT_EQ(s.retry_after_s, 7);
  EXPECT_EQ(s.delay_ms, 10);
  const auto d = parse_mode_json(R"({"mode":"slow"})");
  EXPECT_EQ(d.count, 0);
  EXPECT_EQ(d.delay_ms, 30000);
  EXPECT_THROW(parse_mode_json("{"), BadInput);
  EXPECT_THROW(parse_mode_json(R"({"mode":"nope"})"), BadInput);
  EXPECT_THROW(parse_mode_json(R"({"count":1})"), BadInput);
  EXPECT_THROW(parse_mode_json(R"({"mode":"slow","count":-1})"), BadInput);
  EXPECT_THROW(parse_mode_json(R"({"mode":"slow","delay_ms":"x"})"), BadInput);
  EXPECT_THROW(parse_mode_json(R"([1])"), BadInput);
}

TEST(Modes, RedirectHostIsABareHostName) {
  const auto s = parse_mode_json(R"({"mode":"redirect","redirect_host":"localhost"})");
  EXPECT_EQ(s.redirect_host, "localhost");
  EXPECT_EQ(parse_mode_json(R"({"mode":"redirect"})").redirect_host, "");
  EXPECT_THROW(parse_mode_json(R"({"mode":"redirect","redirect_host":"h:80"})"), BadInput);
  EXPECT_THROW(parse_mode_json(R"({"mode":"redirect","redirect_host":""})"), BadInput);
  ModeController c;
  c.set(s);
  EXPECT_NE(c.to_json().find(R"("redirect_host":"localhost")"), std::string::npos) << c.to_json();
}

TEST(Modes, CountRevertsToNormal) {
  ModeController c;
  c.set({Mode::fail503, 2, 1, 0});
  EXPECT_EQ(c.take().mode, Mode::fail503);
  EXPECT_EQ(c.take().mode, Mode::fail503);
  EXPECT_EQ(c.take().mode, Mode::normal);
  EXPECT_EQ(c.take().mode, Mode::normal);
}

TEST(Modes, BurstDefaultsToOneAndUnboundedModesStay) {
  ModeController c;
  c.set({Mode::burst503, 0, 1, 0});
  EXPECT_EQ(c.take().mode, Mode::burst503);
  EXPECT_EQ(c.take().mode, Mode::normal);
  c.set({Mode::down, 0, 1, 0});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c.take().mode, Mode::down);
  EXPECT_EQ(c.to_json(), R"({"mode":"down","count":0,"remaining":null,"retry_after_s":1,"delay_ms":0})");
}

TEST(Modes, FailRateIsDeterministicAndRoughlyRight) {
  int fails = 0;
  for (std::uint64_t n = 0; n < 10000; ++n) {
    EXPECT_EQ(should_fail(42, n, 0.2), should_fail(42, n, 0.2));
    fails += should_fail(42, n, 0.2);
  }
  EXPECT_NEAR(fails, 2000, 200);
  EXPECT_FALSE(should_fail(42, 1, 0));
  EXPECT_TRUE(should_fail(42, 1, 1));
  int differ = 0;
  for (std::uint64_t n = 0; n < 100; ++n) differ += should_fail(1, n, 0.5) != should_fail(2, n, 0.5);
  EXPECT_GT(differ, 10);  // the seed matters
}

TEST(Modes, DelayStaysWithinJitter) {
  for (std::uint64_t n = 0; n < 1000; ++n) {
    const auto d = delay_for(7, n, 200, 50);
    EXPECT_GE(d, 150);
    EXPECT_LE(d, 250);
    EXPECT_EQ(d, delay_for(7, n, 200, 50));
  }
  EXPECT_EQ(delay_for(7, 1, 200, 0), 200);
  EXPECT_GE(delay_for(7, 1, 10, 100), 0);
}

}  // namespace
}  // namespace beacon::sim
