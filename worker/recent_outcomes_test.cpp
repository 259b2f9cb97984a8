#include "recent_outcomes.hpp"

#include <gtest/gtest.h>

namespace beacon {
namespace {

ExecutionMessage message_of(int sample, int submission) {
  ExecutionMessage m;
  m.key = {"j", "eu-west", "m", "q", sample};
  m.submission = submission;
  return m;
}

TEST(RecentOutcomes, CompletedAnswersEverySubmission) {
  RecentOutcomes recent;
  recent.record(message_of(0, 1).key.message_id(), 1, true);
  EXPECT_TRUE(recent.answers(message_of(0, 1)));
  EXPECT_TRUE(recent.answers(message_of(0, 5))) << "a completed answer is never paid for again";
  EXPECT_FALSE(recent.answers(message_of(1, 1)));
}

TEST(RecentOutcomes, OtherOutcomeAnswersItsSubmissionAndEarlier) {
  RecentOutcomes recent;
  recent.record(message_of(0, 2).key.message_id(), 2, false);
  EXPECT_TRUE(recent.answers(message_of(0, 1)));
  EXPECT_TRUE(recent.answers(message_of(0, 2)));
  EXPECT_FALSE(recent.answers(message_of(0, 3))) << "a re-submit of a failed execution runs again";
}

TEST(RecentOutcomes, ALaterCompletionUpgradesTheEntry) {
  RecentOutcomes recent;
  auto id = message_of(0, 1).key.message_id();
  recent.record(id, 1, false);
  recent.record(id, 2, true);
  EXPECT_TRUE(recent.answers(message_of(0, 7)));
}

TEST(RecentOutcomes, ForgetsTheOldestBeyondItsCapacity) {
  RecentOutcomes recent(2);
  for (int i = 0; i < 3; ++i) recent.record(message_of(i, 1).key.message_id(), 1, true);
  EXPECT_EQ(recent.size(), 2u);
  EXPECT_FALSE(recent.answers(message_of(0, 1)));
  EXPECT_TRUE(recent.answers(message_of(2, 1)));
}

}  // namespace
}  // namespace beacon
