// The leaser when the database cannot be reached: the worker keeps sending,
// limited locally (the share it last knew; here none, so the whole limit),
// and says so in the log.
#include "rate_leaser.hpp"

#include <gtest/gtest.h>

#include "wait.hpp"

namespace beacon {
namespace {

using namespace std::chrono_literals;

TEST(RateLeaser, AnUnreachableDatabaseFallsBackToALocalLimit) {
  auto limits = std::make_shared<infer::FleetRateLimits>();
  limits->configure("k", {600, 0}, "http://gpu/v1");
  // Port 1 on loopback: connection refused at once.
  RateLeaser leaser("postgresql://beacon@127.0.0.1:1/beacon", "w1", limits);
  ASSERT_TRUE(limits->leaser_attached()) << "the client must leave leasing to the leaser";
  int sent = 0;
  EXPECT_TRUE(test::eventually(
      [&] {
        const auto now = std::chrono::steady_clock::now();
        limits->set_demand("k", "entry", 20, 0);
        std::chrono::steady_clock::time_point retry{};
        while (limits->try_take("k", 0, now, retry)) ++sent;
        return sent >= 5;
      },
      10s))
      << "no capacity came from the local fallback; sent " << sent;
  leaser.stop();
}

}  // namespace
}  // namespace beacon
