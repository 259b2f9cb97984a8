#pragma once
// A job's budget (issue 10, "Tokens, cost, budgets"): the spec's optional
//
//     "budget": {"max_cost_usd": 2.5, "max_tokens": 1000000}
//
// (either or both). When the job's completed executions have spent it (cost
// summed from their cost_usd, tokens = prompt + completion), the
// progress-writer stops the job: no new inference starts, the executions not
// yet answered end `cancelled` with reason budget_exhausted (cancel_reason.hpp),
// and the job's stop_reason says so. A re-submit with a higher budget resumes
// it. The budget is the one part of a spec a re-submit may change.
#include <cstdint>
#include <optional>

#include <beacon/core/json.hpp>

namespace beacon {

struct JobBudget {
  std::optional<double> max_cost_usd;       // > 0, finite
  std::optional<std::int64_t> max_tokens;   // >= 1
  bool operator==(const JobBudget&) const = default;
};

// Parses the value of the spec's "budget" field. Throws SpecError naming
// "budget" or "budget.<field>" with what is wrong.
JobBudget parse_budget(const json::Value& v);

// Writes "budget": {...} (the fields set, nothing else).
void write_budget(json::Writer& w, const JobBudget& b);

}  // namespace beacon
