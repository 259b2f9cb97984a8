#include <beacon/db/submit_lanes.hpp>

#include <gtest/gtest.h>

namespace beacon::db {
namespace {

LaneFacts facts(bool has_lane, bool others_busy) { return {"r", has_lane, others_busy}; }

// A job alone in a region, without a priority, keeps the region queue: the
// behaviour before lanes existed.
TEST(LaneReason, AloneWithoutPriorityUsesTheRegionQueue) {
  EXPECT_EQ(lane_reason(facts(false, false), std::nullopt), std::nullopt);
}

TEST(LaneReason, EachRuleGivesALaneAndTheFirstThatHoldsIsTheReason) {
  EXPECT_EQ(lane_reason(facts(false, false), 1), LaneReason::priority) << "an explicit 1 asks for a lane too";
  EXPECT_EQ(lane_reason(facts(false, true), std::nullopt), LaneReason::others_busy);
  EXPECT_EQ(lane_reason(facts(true, false), std::nullopt), LaneReason::kept);
  EXPECT_EQ(lane_reason(facts(true, true), 5), LaneReason::priority);
  EXPECT_EQ(lane_reason(facts(true, true), std::nullopt), LaneReason::others_busy);
}

TEST(LaneReason, DescribeSaysWhy) {
  EXPECT_EQ(describe(LaneReason::priority, 5), "own lane (priority 5)");
  EXPECT_EQ(describe(LaneReason::others_busy, std::nullopt), "own lane (another job has work here)");
  EXPECT_EQ(describe(LaneReason::kept, std::nullopt), "own lane (kept from an earlier submit)");
}

}  // namespace
}  // namespace beacon::db
