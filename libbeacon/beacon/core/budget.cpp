#include <beacon/core/budget.hpp>

#include <cmath>
#include <string>

#include <beacon/core/errors.hpp>

namespace beacon {

// Above these a budget is almost certainly a typo (and a token count this big
// would not fit the bigint sums exactly anyway).
inline constexpr double kMaxBudgetUsd = 1e9;
inline constexpr std::int64_t kMaxBudgetTokens = 1'000'000'000'000'000;

JobBudget parse_budget(const json::Value& v) {
  if (!v.IsObject())
    throw SpecError("budget", "must be an object {\"max_cost_usd\": USD, \"max_tokens\": N} (either or both)");
  JobBudget b;
  for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
    const std::string name(m->name.GetString(), m->name.GetStringLength());
    const auto& x = m->value;
    if (name == "max_cost_usd") {
      if (!x.IsNumber() || !std::isfinite(x.GetDouble()) || x.GetDouble() <= 0 || x.GetDouble() > kMaxBudgetUsd)
        throw SpecError("budget.max_cost_usd", "must be a number of USD above 0 (at most 1e9)");
      b.max_cost_usd = x.GetDouble();
    } else if (name == "max_tokens") {
      if (!x.IsInt64() || x.GetInt64() < 1 || x.GetInt64() > kMaxBudgetTokens)
        throw SpecError("budget.max_tokens", "must be a whole number of tokens from 1 to 1e18");
      b.max_tokens = x.GetInt64();
    } else {
      throw SpecError("budget." + name, "unknown field (known: max_cost_usd, max_tokens)");
    }
  }
  if (!b.max_cost_usd && !b.max_tokens)
    throw SpecError("budget", "needs max_cost_usd or max_tokens (or both); leave \"budget\" out for no budget");
  return b;
}

void write_budget(json::Writer& w, const JobBudget& b) {
  w.Key("budget");
  w.StartObject();
  if (b.max_cost_usd) {
    w.Key("max_cost_usd");
    w.Double(*b.max_cost_usd);
  }
  if (b.max_tokens) {
    w.Key("max_tokens");
    w.Int64(*b.max_tokens);
  }
  w.EndObject();
}

}  // namespace beacon
