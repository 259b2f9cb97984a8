#include "cancel_memory.hpp"

#include <gtest/gtest.h>

namespace beacon {
namespace {

using Clock = CancelMemory::Clock;

ExecutionMessage message_of(const std::string& job, int submission) {
  ExecutionMessage m;
  m.key = {job, "eu-west", "m", "q", 0};
  m.submission = submission;
  return m;
}

struct FakeClock {
  Clock::time_point now{};
  std::function<Clock::time_point()> fn() {
    return [this] { return now; };
  }
};

TEST(CancelMemory, DropsTheCancelledSubmissionAndEarlierOnly) {
  FakeClock clock;
  CancelMemory memory(clock.fn());
  memory.remember(CancelNotice{"j", 2});
  EXPECT_TRUE(memory.cancels(message_of("j", 1)));
  EXPECT_TRUE(memory.cancels(message_of("j", 2)));
  EXPECT_FALSE(memory.cancels(message_of("j", 3))) << "a re-submit after the cancel must run";
  EXPECT_FALSE(memory.cancels(message_of("other", 1)));
}

TEST(CancelMemory, KeepsTheHighestSubmissionOfOutOfOrderNotices) {
  FakeClock clock;
  CancelMemory memory(clock.fn());
  memory.remember(CancelNotice{"j", 3});
  memory.remember(CancelNotice{"j", 1});
  EXPECT_TRUE(memory.cancels(message_of("j", 3)));
}

TEST(CancelMemory, ForgetsAfterItsTime) {
  FakeClock clock;
  CancelMemory memory(clock.fn(), std::chrono::seconds(10));
  memory.remember(CancelNotice{"j", 1});
  clock.now += std::chrono::seconds(9);
  EXPECT_TRUE(memory.cancels(message_of("j", 1)));
  clock.now += std::chrono::seconds(1);
  EXPECT_FALSE(memory.cancels(message_of("j", 1))) << "after kCancelMemory the database decides";
}

TEST(CancelMemory, ANewNoticeRestartsItsTime) {
  FakeClock clock;
  CancelMemory memory(clock.fn(), std::chrono::seconds(10));
  memory.remember(CancelNotice{"j", 1});
  clock.now += std::chrono::seconds(8);
  memory.remember(CancelNotice{"j", 2});
  clock.now += std::chrono::seconds(8);
  EXPECT_TRUE(memory.cancels(message_of("j", 2)));
}

TEST(CancelMemory, ABudgetStopKeepsItsReasonAgainstAPlainCancelOfTheSameSubmission) {
  FakeClock clock;
  CancelMemory memory(clock.fn());
  EXPECT_EQ(memory.reason("j"), CancelReason::cancel);
  memory.remember(CancelNotice{"j", 2, CancelReason::budget_exhausted});
  memory.remember(CancelNotice{"j", 2});  // the preflight found the job cancelled in Postgres
  EXPECT_EQ(memory.reason("j"), CancelReason::budget_exhausted);
  memory.remember(CancelNotice{"j", 3});
  EXPECT_EQ(memory.reason("j"), CancelReason::cancel) << "a later submission's cancel has its own reason";
}

}  // namespace
}  // namespace beacon
