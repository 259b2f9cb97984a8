#include <beacon/core/state_machine.hpp>

#include <gtest/gtest.h>

namespace beacon {

TEST(StateMachine, FullTransitionTable) {
  using S = ExecStatus;
  const S all[] = {S::pending, S::running, S::completed, S::failed, S::cancelled};
  // Rows: from; columns: to (pending, running, completed, failed, cancelled).
  const bool expected[5][5] = {
      /* pending   */ {false, true, true, true, true},
      /* running   */ {false, false, true, true, true},
      /* completed */ {false, false, false, false, false},
      /* failed    */ {false, false, true, false, false},
      /* cancelled */ {false, false, true, false, false},
  };
  for (int f = 0; f < 5; ++f)
    for (int t = 0; t < 5; ++t)
      EXPECT_EQ(transition_allowed(all[f], all[t]), expected[f][t]) << to_string(all[f]) << " -> " << to_string(all[t]);
}

TEST(StateMachine, LateStartedNeverOverwritesTerminal) {
  for (auto s : {ExecStatus::completed, ExecStatus::failed, ExecStatus::cancelled})
    EXPECT_FALSE(transition_allowed(s, status_after(EventKind::started)));
}

TEST(StateMachine, RanksPreferTerminalAndCompleted) {
  EXPECT_GT(event_rank(EventKind::completed), event_rank(EventKind::failed));
  EXPECT_GT(event_rank(EventKind::failed), event_rank(EventKind::cancelled));
  EXPECT_GT(event_rank(EventKind::cancelled), event_rank(EventKind::started));
}

TEST(StateMachine, NamesRoundTrip) {
  for (auto s : {ExecStatus::pending, ExecStatus::running, ExecStatus::completed, ExecStatus::failed, ExecStatus::cancelled})
    EXPECT_EQ(parse_exec_status(to_string(s)), s);
  for (auto e : {EventKind::started, EventKind::completed, EventKind::failed, EventKind::cancelled})
    EXPECT_EQ(parse_event_kind(to_string(e)), e);
  EXPECT_FALSE(parse_event_kind("finished"));
}

}  // namespace beacon
