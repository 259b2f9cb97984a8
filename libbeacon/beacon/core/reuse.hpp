#pragma once
// Reuse across jobs (issue 10): a job spec's "reuse" field, carried by every
// execution message of the job. With "completed", an execution whose exact
// request (infer/request_digest.hpp) was already answered in an earlier job
// is copied from that answer instead of paying the endpoint again. Absent:
// every execution pays, as before.
#include <optional>
#include <string_view>

namespace beacon {

enum class ReusePolicy { none, completed };

// "completed" for ReusePolicy::completed; "" for none (never written).
std::string_view to_string(ReusePolicy p);
// "completed" -> completed; any other text -> nullopt (the caller says what is wrong).
std::optional<ReusePolicy> parse_reuse_policy(std::string_view text);

}  // namespace beacon
