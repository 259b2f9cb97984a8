#include <beacon/core/cancel_reason.hpp>

namespace beacon {

std::string_view to_string(CancelReason r) {
  switch (r) {
    case CancelReason::cancel: return "cancel";
    case CancelReason::budget_exhausted: return "budget_exhausted";
  }
  return "cancel";
}

std::optional<CancelReason> parse_cancel_reason(std::string_view text) {
  for (auto r : {CancelReason::cancel, CancelReason::budget_exhausted})
    if (to_string(r) == text) return r;
  return std::nullopt;
}

}  // namespace beacon
