#include <beacon/core/state_machine.hpp>

namespace beacon {

std::string_view to_string(ExecStatus s) {
  switch (s) {
    case ExecStatus::pending: return "pending";
    case ExecStatus::running: return "running";
    case ExecStatus::completed: return "completed";
    case ExecStatus::failed: return "failed";
    case ExecStatus::cancelled: return "cancelled";
  }
  return "unknown";
}

std::string_view to_string(EventKind e) {
  switch (e) {
    case EventKind::started: return "started";
    case EventKind::completed: return "completed";
    case EventKind::failed: return "failed";
    case EventKind::cancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<ExecStatus> parse_exec_status(std::string_view s) {
  for (auto v : {ExecStatus::pending, ExecStatus::running, ExecStatus::completed, ExecStatus::failed,
                 ExecStatus::cancelled})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

std::optional<EventKind> parse_event_kind(std::string_view s) {
  for (auto v : {EventKind::started, EventKind::completed, EventKind::failed, EventKind::cancelled})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

ExecStatus status_after(EventKind e) {
  switch (e) {
    case EventKind::started: return ExecStatus::running;
    case EventKind::completed: return ExecStatus::completed;
    case EventKind::failed: return ExecStatus::failed;
    case EventKind::cancelled: return ExecStatus::cancelled;
  }
  return ExecStatus::pending;
}

bool is_terminal(ExecStatus s) {
  return s == ExecStatus::completed || s == ExecStatus::failed || s == ExecStatus::cancelled;
}

bool transition_allowed(ExecStatus from, ExecStatus to) {
  switch (from) {
    case ExecStatus::pending: return to != ExecStatus::pending;
    case ExecStatus::running: return is_terminal(to);
    case ExecStatus::failed: return to == ExecStatus::completed;
    case ExecStatus::cancelled: return to == ExecStatus::completed;
    case ExecStatus::completed: return false;
  }
  return false;
}

int event_rank(EventKind e) {
  switch (e) {
    case EventKind::started: return 1;
    case EventKind::cancelled: return 2;
    case EventKind::failed: return 3;
    case EventKind::completed: return 4;
  }
  return 0;
}

}  // namespace beacon
