#include "confirm_ledger.hpp"

#include <gtest/gtest.h>

namespace beacon {
namespace {

Publish terminal(const std::string& slot, bool completed) {
  Publish p;
  p.purpose = Publish::Purpose::terminal;
  p.slot = slot;
  p.completed = completed;
  return p;
}

Publish copy_of(std::uint64_t tag, std::uint64_t generation, Publish::Purpose purpose = Publish::Purpose::fresh_copy) {
  Publish p;
  p.purpose = purpose;
  p.tag = tag;
  p.generation = generation;
  return p;
}

amqp::Confirm ok(std::uint64_t seq) { return amqp::Confirm{seq, true, ""}; }
amqp::Confirm nack(std::uint64_t seq) { return amqp::Confirm{seq, false, "nack"}; }

TEST(ConfirmLedger, ATerminalConfirmSettlesItsSlot) {
  ConfirmLedger ledger;
  ledger.sent(1, terminal("s", true));
  EXPECT_FALSE(ledger.empty());
  auto step = ledger.confirmed(ok(1), 1);
  EXPECT_EQ(step.kind, LedgerStep::Kind::settle_slot);
  EXPECT_EQ(step.slot, "s");
  EXPECT_TRUE(step.completed);
  EXPECT_TRUE(ledger.empty());
}

TEST(ConfirmLedger, NothingIsAckedBeforeItsConfirm) {
  ConfirmLedger ledger;
  ledger.sent(1, copy_of(9, 1));
  ledger.sent(2, terminal("s", false));
  EXPECT_EQ(ledger.confirmed(ok(3), 1).kind, LedgerStep::Kind::nothing) << "an unknown sequence number";
  EXPECT_EQ(ledger.awaiting(), 2u);
  auto step = ledger.confirmed(ok(1), 1);
  EXPECT_EQ(step.kind, LedgerStep::Kind::ack_tag);
  EXPECT_EQ(step.tag, 9u);
}

TEST(ConfirmLedger, AStartedConfirmDoesNothing) {
  ConfirmLedger ledger;
  Publish p;
  ledger.sent(1, p);
  EXPECT_EQ(ledger.confirmed(ok(1), 1).kind, LedgerStep::Kind::nothing);
}

TEST(ConfirmLedger, ARefusalIsPublishedAgainThenGivenUp) {
  ConfirmLedger ledger;
  std::uint64_t seq = 1;
  ledger.sent(seq, terminal("s", true));
  for (int i = 1; i < kMaxPublishTries; ++i) {
    auto step = ledger.confirmed(nack(seq), 1);
    ASSERT_EQ(step.kind, LedgerStep::Kind::publish_again);
    EXPECT_EQ(step.publish.tries, i + 1);
    ledger.sent(++seq, std::move(step.publish));
  }
  auto last = ledger.confirmed(nack(seq), 1);
  EXPECT_EQ(last.kind, LedgerStep::Kind::requeue_slot);
  EXPECT_EQ(last.slot, "s");
}

TEST(ConfirmLedger, ACopyRefusedForGoodReturnsTheOriginal) {
  ConfirmLedger ledger;
  auto p = copy_of(5, 1);
  p.tries = kMaxPublishTries;
  ledger.sent(1, p);
  auto step = ledger.confirmed(nack(1), 1);
  EXPECT_EQ(step.kind, LedgerStep::Kind::return_tag);
  EXPECT_EQ(step.tag, 5u);
}

TEST(ConfirmLedger, ATagOfAnOlderConnectionIsNeverAcked) {
  ConfirmLedger ledger;
  ledger.sent(1, copy_of(5, 1, Publish::Purpose::dead_letter));
  EXPECT_EQ(ledger.confirmed(ok(1), 2).kind, LedgerStep::Kind::nothing);
}

TEST(ConfirmLedger, TerminalEventsOutliveALostConnection) {
  ConfirmLedger ledger;
  ledger.sent(1, terminal("a", true));
  ledger.sent(2, copy_of(5, 1));
  Publish started;
  ledger.sent(3, started);
  ledger.unsent(terminal("b", false));
  ledger.unsent(copy_of(6, 1));
  ledger.connection_lost();
  EXPECT_TRUE(ledger.empty());
  auto orphans = ledger.take_orphans();
  ASSERT_EQ(orphans.size(), 2u);
  EXPECT_EQ(orphans[0].slot, "b");
  EXPECT_EQ(orphans[1].slot, "a");
  EXPECT_EQ(ledger.orphans(), 0u);
}

}  // namespace
}  // namespace beacon
