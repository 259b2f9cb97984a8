#pragma once
// What one answered request cost, from the endpoint entry's prices (issue 10:
// tokens, cost, budgets). Token-priced APIs bill input and output tokens per
// million; Modal-style endpoints bill GPU time (price_per_second, applied to
// the request's latency). Both may be set; an entry with no price set costs
// nothing we know of, and its executions store no cost (NULL, not 0).
#include <optional>

#include <beacon/core/messages.hpp>

namespace beacon::infer {

struct Prices {
  double per_million_input_tokens = 0;
  double per_million_output_tokens = 0;
  double per_second = 0;
  bool any() const { return per_million_input_tokens > 0 || per_million_output_tokens > 0 || per_second > 0; }
  bool operator==(const Prices&) const = default;
};

// nullopt when no price is set. Tokens the server did not report count as 0
// (the answer's usage is what the provider bills; a server that reports none
// is priced by time, if at all).
std::optional<double> cost_usd(const Prices& prices, const Output& output, double latency_ms);

}  // namespace beacon::infer
