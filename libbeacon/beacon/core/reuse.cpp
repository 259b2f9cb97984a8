#include <beacon/core/reuse.hpp>

namespace beacon {

std::string_view to_string(ReusePolicy p) { return p == ReusePolicy::completed ? "completed" : ""; }

std::optional<ReusePolicy> parse_reuse_policy(std::string_view text) {
  if (text == "completed") return ReusePolicy::completed;
  return std::nullopt;
}

}  // namespace beacon
