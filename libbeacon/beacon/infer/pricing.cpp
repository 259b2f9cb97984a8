#include <beacon/infer/pricing.hpp>

namespace beacon::infer {

std::optional<double> cost_usd(const Prices& prices, const Output& output, double latency_ms) {
  if (!prices.any()) return std::nullopt;
  const double input = static_cast<double>(output.prompt_tokens.value_or(0));
  const double generated = static_cast<double>(output.completion_tokens.value_or(0));
  return input * prices.per_million_input_tokens / 1e6 + generated * prices.per_million_output_tokens / 1e6 +
         (latency_ms > 0 ? latency_ms / 1000.0 : 0.0) * prices.per_second;
}

}  // namespace beacon::infer
