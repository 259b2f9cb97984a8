#pragma once
// Why a job stopped early and its unanswered executions ended `cancelled`:
// the one list of reasons, stored as jobs.stop_reason and
// executions.error->>'reason', carried by the cancel notice
// (control_message.hpp) and a `cancelled` event's error.reason.
#include <optional>
#include <string_view>

namespace beacon {

enum class CancelReason {
  cancel,            // `beacon-producer cancel`
  budget_exhausted,  // the job's budget (budget.hpp) was spent
};

std::string_view to_string(CancelReason r);
// nullopt for a string that names no reason (the caller decides what that means).
std::optional<CancelReason> parse_cancel_reason(std::string_view text);

}  // namespace beacon
