#include "lane_gate.hpp"

#include <map>
#include <string>

#include <gtest/gtest.h>

namespace beacon {
namespace {

GatedDelivery delivery(const std::string& job, std::uint64_t tag) {
  GatedDelivery d;
  d.message.key.job_id = job;
  d.tag = tag;
  return d;
}

// Runs `n` picks, each finishing at once, and counts them by job.
std::map<std::string, int> serve(LaneGate& g, int n) {
  std::map<std::string, int> by_job;
  for (int i = 0; i < n; ++i) {
    auto d = g.next();
    if (!d) break;
    ++by_job[d->message.key.job_id];
    g.finished(d->tag);
  }
  return by_job;
}

TEST(LaneGate, RunsAtMostCapacityAtOnce) {
  LaneGate g(2);
  for (std::uint64_t t = 1; t <= 4; ++t) g.hold("", delivery("a", t));
  ASSERT_TRUE(g.next());
  auto second = g.next();
  ASSERT_TRUE(second);
  EXPECT_FALSE(g.next()) << "both slots are taken";
  EXPECT_EQ(g.running(), 2u);
  EXPECT_EQ(g.waiting(), 2u);
  g.finished(second->tag);
  EXPECT_TRUE(g.next());
  g.finished(999);  // never waited here: ignored
  EXPECT_EQ(g.running(), 2u);
}

TEST(LaneGate, ASmallJobBehindABigOneIsServedInTurn) {
  LaneGate g(1);
  std::uint64_t tag = 0;
  for (int i = 0; i < 100; ++i) g.hold("", delivery("big", ++tag));  // the region queue
  for (int i = 0; i < 10; ++i) g.hold("small", delivery("small", ++tag));
  auto first20 = serve(g, 20);
  EXPECT_EQ(first20["small"], 10) << "alternating: the small job is done within 20 picks, not after 100";
  EXPECT_EQ(first20["big"], 10);
}

TEST(LaneGate, WeightsShareTheSlots) {
  LaneGate g(1);
  g.set_weight("urgent", 4);
  std::uint64_t tag = 0;
  for (int i = 0; i < 100; ++i) {
    g.hold("", delivery("normal", ++tag));
    g.hold("urgent", delivery("urgent", ++tag));
  }
  auto picks = serve(g, 50);
  EXPECT_EQ(picks["urgent"], 40);
  EXPECT_EQ(picks["normal"], 10);
}

TEST(LaneGate, ALaneThatRanDryGetsNoBurstWhenItReturns) {
  LaneGate g(1);
  std::uint64_t tag = 0;
  for (int i = 0; i < 50; ++i) g.hold("", delivery("a", ++tag));
  serve(g, 10);  // only lane "" had work
  for (int i = 0; i < 50; ++i) g.hold("b", delivery("b", ++tag));
  auto picks = serve(g, 10);
  EXPECT_EQ(picks["a"], 5);
  EXPECT_EQ(picks["b"], 5);
}

TEST(LaneGate, DrainTakesWhatWaitsAndKeepsWhatRuns) {
  LaneGate g(1);
  g.hold("", delivery("a", 1));
  g.hold("x", delivery("x", 2));
  g.hold("x", delivery("x", 3));
  auto running = g.next();
  ASSERT_TRUE(running);
  auto waiting = g.take_waiting();
  EXPECT_EQ(waiting.size(), 2u);
  EXPECT_EQ(g.waiting(), 0u);
  EXPECT_EQ(g.running(), 1u);
  g.clear();
  EXPECT_EQ(g.running(), 0u);
}

TEST(LaneGate, RetireForgetsOnlyAnEmptyLane) {
  LaneGate g(1);
  g.hold("x", delivery("x", 1));
  g.retire("x");
  EXPECT_EQ(g.waiting(), 1u) << "what waits is still served";
  ASSERT_TRUE(g.next());
  g.retire("x");
  EXPECT_EQ(g.waiting(), 0u);
}

}  // namespace
}  // namespace beacon
