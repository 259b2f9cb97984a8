#include "slot_table.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace beacon {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

ExecutionMessage message_of(int sample, int submission = 1, const std::string& job = "j") {
  ExecutionMessage m;
  m.key = {job, "eu-west", "m", "q", sample};
  m.submission = submission;
  return m;
}

struct SlotTableTest : ::testing::Test {
  RecentOutcomes recent;
  CancelMemory cancels;
  SlotTable table{recent, cancels};

  // Dispatches, then lets the preflight say `run`: the slot is in inference.
  std::string running(const ExecutionMessage& m, std::uint64_t tag) {
    auto a = table.dispatch(m, tag, false);
    EXPECT_EQ(a.preflight.size(), 1u);
    auto b = table.preflight_done(m, PreflightVerdict::run, false);
    EXPECT_THAT(b.start_inference, ElementsAre(slot_id(m)));
    return slot_id(m);
  }
};

TEST_F(SlotTableTest, ANewMessageGoesToThePreflightThenToInference) {
  auto m = message_of(0);
  auto a = table.dispatch(m, 7, true);
  ASSERT_EQ(a.preflight.size(), 1u);
  EXPECT_EQ(a.preflight[0].tag, 7u);
  EXPECT_TRUE(a.preflight[0].redelivered);
  EXPECT_THAT(a.ack, IsEmpty());
  auto b = table.preflight_done(m, PreflightVerdict::run, false);
  EXPECT_THAT(b.start_inference, ElementsAre(slot_id(m)));
  EXPECT_EQ(table.find(slot_id(m))->phase, SlotPhase::inference);
}

// Reuse across jobs: a copied answer is published as the slot's terminal
// event, no inference starts; its confirm settles the slot like any completion.
TEST_F(SlotTableTest, ReusedPublishesTheCopiedEventWithoutInference) {
  auto m = message_of(0);
  table.dispatch(m, 7, false);
  ResultEvent copied;
  copied.event = EventKind::completed;
  copied.key = m.key;
  auto a = table.preflight_done(m, PreflightVerdict::reused, false, copied);
  EXPECT_THAT(a.publish_reused, ElementsAre(slot_id(m)));
  EXPECT_THAT(a.start_inference, IsEmpty());
  EXPECT_EQ(table.find(slot_id(m))->phase, SlotPhase::publishing);
  auto b = table.terminal_confirmed(slot_id(m), true);
  EXPECT_THAT(b.ack, ElementsAre(7u));
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(SlotTableTest, ReusedHonoursCancelAndTheDrainDeadline) {
  auto m = message_of(0);
  table.dispatch(m, 7, false);
  auto a = table.preflight_done(m, PreflightVerdict::reused, true, ResultEvent{});
  EXPECT_THAT(a.requeue, ElementsAre(7u));
  EXPECT_THAT(a.publish_reused, IsEmpty());
  auto c = message_of(1);
  table.dispatch(c, 8, false);
  cancels.remember(CancelNotice{"j", 1});
  auto b = table.preflight_done(c, PreflightVerdict::reused, false, ResultEvent{});
  EXPECT_THAT(b.publish_cancelled, ElementsAre(slot_id(c)));
  EXPECT_THAT(b.publish_reused, IsEmpty());
  // Without the copied event the verdict cannot be honoured: it pays.
  auto d = message_of(2, 1, "k");
  table.dispatch(d, 9, false);
  auto e = table.preflight_done(d, PreflightVerdict::reused, false);
  EXPECT_THAT(e.start_inference, ElementsAre(slot_id(d)));
}

TEST_F(SlotTableTest, AlreadyCompletedAcksWithoutInference) {
  auto m = message_of(0);
  table.dispatch(m, 7, true);
  auto a = table.preflight_done(m, PreflightVerdict::already_completed, false);
  EXPECT_THAT(a.ack, ElementsAre(7u));
  EXPECT_EQ(a.skipped, 1u);
  EXPECT_THAT(a.start_inference, IsEmpty());
  EXPECT_EQ(table.size(), 0u);
  // Remembered: the next copy is answered at once.
  auto b = table.dispatch(m, 8, true);
  EXPECT_THAT(b.ack, ElementsAre(8u));
  EXPECT_THAT(b.preflight, IsEmpty());
}

TEST_F(SlotTableTest, ADuplicateJoinsTheRunningSlotAndIsAckedWithIt) {
  auto m = message_of(0);
  auto id = running(m, 1);
  auto a = table.dispatch(m, 2, true);
  EXPECT_EQ(a.absorbed, 1u);
  EXPECT_THAT(a.preflight, IsEmpty());
  EXPECT_THAT(a.ack, IsEmpty()) << "no ack before the terminal event is confirmed";
  auto b = table.terminal_confirmed(id, true);
  EXPECT_THAT(b.ack, UnorderedElementsAre(1u, 2u));
}

TEST_F(SlotTableTest, AnotherSubmissionParksAndACompletionAnswersIt) {
  auto first = message_of(0, 1);
  auto id = running(first, 1);
  auto a = table.dispatch(message_of(0, 2), 2, false);
  EXPECT_THAT(a.preflight, IsEmpty());
  EXPECT_THAT(a.ack, IsEmpty());
  auto b = table.terminal_confirmed(id, true);
  EXPECT_THAT(b.ack, UnorderedElementsAre(1u, 2u));
  EXPECT_EQ(b.absorbed, 1u);
}

TEST_F(SlotTableTest, AParkedSubmissionTakesTheNormalPathAfterAFailure) {
  auto first = message_of(0, 1);
  auto id = running(first, 1);
  table.dispatch(message_of(0, 2), 2, true);
  auto b = table.terminal_confirmed(id, false);
  EXPECT_THAT(b.ack, ElementsAre(1u));
  ASSERT_EQ(b.preflight.size(), 1u);
  EXPECT_EQ(b.preflight[0].tag, 2u);
  EXPECT_EQ(b.preflight[0].message.submission, 2);
  EXPECT_TRUE(b.preflight[0].redelivered);
}

TEST_F(SlotTableTest, RequeueSendsEveryWaitingDeliveryBack) {
  auto id = running(message_of(0, 1), 1);
  table.dispatch(message_of(0, 1), 2, true);
  table.dispatch(message_of(0, 2), 3, false);
  auto a = table.settle(id, Settle::requeue);
  EXPECT_THAT(a.requeue, UnorderedElementsAre(1u, 2u, 3u));
  EXPECT_THAT(a.ack, IsEmpty());
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(SlotTableTest, AbortingRequeuesInsteadOfStarting) {
  auto m = message_of(0);
  table.dispatch(m, 4, false);
  auto a = table.preflight_done(m, PreflightVerdict::run, true);
  EXPECT_THAT(a.requeue, ElementsAre(4u));
  EXPECT_THAT(a.start_inference, IsEmpty());
}

TEST_F(SlotTableTest, ACancelledSubmissionIsDroppedAndALaterOneRuns) {
  cancels.remember(CancelNotice{"j", 1});
  auto a = table.dispatch(message_of(0, 1), 1, false);
  EXPECT_THAT(a.publish_cancelled, ElementsAre(slot_id(message_of(0, 1))));
  EXPECT_THAT(a.preflight, IsEmpty());
  auto b = table.dispatch(message_of(1, 2), 2, false);
  EXPECT_THAT(b.publish_cancelled, IsEmpty());
  EXPECT_EQ(b.preflight.size(), 1u);
}

TEST_F(SlotTableTest, ACancelThatArrivesDuringThePreflightDrops) {
  auto m = message_of(0, 1);
  table.dispatch(m, 1, false);
  cancels.remember(CancelNotice{"j", 1});
  auto a = table.preflight_done(m, PreflightVerdict::run, false);
  EXPECT_THAT(a.publish_cancelled, ElementsAre(slot_id(m)));
  EXPECT_THAT(a.start_inference, IsEmpty());
}

TEST_F(SlotTableTest, TheDatabaseSaysCancelledAndTheWorkerRemembers) {
  auto m = message_of(0, 1);
  table.dispatch(m, 1, false);
  auto a = table.preflight_done(m, PreflightVerdict::job_cancelled, false);
  EXPECT_THAT(a.publish_cancelled, ElementsAre(slot_id(m)));
  EXPECT_TRUE(cancels.cancels(message_of(5, 1)));
  EXPECT_FALSE(cancels.cancels(message_of(5, 2)));
}

TEST_F(SlotTableTest, RunningSlotsACancelReaches) {
  auto a = running(message_of(0, 1), 1);
  auto b = running(message_of(1, 2), 2);
  running(message_of(0, 1, "other"), 3);
  table.dispatch(message_of(2, 1), 4, false);  // still in preflight: the preflight's answer is checked then
  EXPECT_THAT(table.running_cancelled_by(CancelNotice{"j", 1}), ElementsAre(a));
  EXPECT_THAT(table.running_cancelled_by(CancelNotice{"j", 2}), UnorderedElementsAre(a, b));
}

TEST_F(SlotTableTest, ALostConnectionKeepsRunningSlotsAndDropsTheRest) {
  auto m = message_of(0);
  auto id = running(m, 1);
  table.dispatch(message_of(1), 2, false);  // waits for the preflight
  table.connection_lost();
  EXPECT_EQ(table.size(), 1u);
  EXPECT_THAT(table.in_phase(SlotPhase::inference), ElementsAre(id));
  // The redelivered message joins; the stale preflight answer is ignored.
  table.dispatch(m, 11, true);
  EXPECT_THAT(table.preflight_done(message_of(1), PreflightVerdict::run, false).start_inference, IsEmpty());
  auto a = table.terminal_confirmed(id, true);
  EXPECT_THAT(a.ack, ElementsAre(11u)) << "only tags of the current connection are acked";
}

}  // namespace
}  // namespace beacon
