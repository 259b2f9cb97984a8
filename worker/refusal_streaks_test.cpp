#include "refusal_streaks.hpp"

#include <gtest/gtest.h>

namespace beacon {
namespace {

TEST(RefusalStreaks, ConfirmsElsewhereDoNotHideADestinationThatRefusesEverything) {
  RefusalStreaks s(50);
  int reconnects = 0;
  // What the cluster CI run saw: each result event refused 5 times, then a
  // fresh copy of its message to the region queue confirmed.
  for (int message = 0; message < 10; ++message) {
    for (int i = 0; i < 5; ++i) reconnects += s.note("beacon.results", false) ? 1 : 0;
    reconnects += s.note("", true) ? 1 : 0;
  }
  EXPECT_EQ(reconnects, 1);
}

TEST(RefusalStreaks, AConfirmOfTheSameDestinationEndsItsStreak) {
  RefusalStreaks s(3);
  EXPECT_FALSE(s.note("beacon.results", false));
  EXPECT_FALSE(s.note("beacon.results", false));
  EXPECT_FALSE(s.note("beacon.results", true));
  EXPECT_FALSE(s.note("beacon.results", false));
  EXPECT_FALSE(s.note("beacon.results", false));
  EXPECT_TRUE(s.note("beacon.results", false));
  EXPECT_FALSE(s.note("beacon.results", false)) << "a reconnect starts every streak again";
}

}  // namespace
}  // namespace beacon
