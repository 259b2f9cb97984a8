#pragma once
// The execution state machine. Status never goes back (SPEC invariant 4):
//   pending  -> running | completed | failed | cancelled
//   running  -> completed | failed | cancelled
//   failed   -> completed   (a retry or re-submit that succeeded)
//   cancelled-> completed   (work already paid for is kept)
//   completed-> nothing
// The SQL in migrations/ applies the same table (see
// beacon_transition_allowed); state_machine_test.cpp and the database tests
// hold the two equal.
#include <optional>
#include <string_view>

namespace beacon {

enum class ExecStatus { pending, running, completed, failed, cancelled };
enum class EventKind { started, completed, failed, cancelled };

std::string_view to_string(ExecStatus s);
std::string_view to_string(EventKind e);
std::optional<ExecStatus> parse_exec_status(std::string_view s);
std::optional<EventKind> parse_event_kind(std::string_view s);

// The status an event moves an execution to.
ExecStatus status_after(EventKind e);
bool is_terminal(ExecStatus s);
bool transition_allowed(ExecStatus from, ExecStatus to);

// When one batch holds several events for one key, the one that wins:
// completed > failed > cancelled > started. Equal ranks keep the later one.
int event_rank(EventKind e);

}  // namespace beacon
