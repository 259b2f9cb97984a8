#include "endpoint_metrics.hpp"

namespace beacon {

EndpointMetrics::Series& EndpointMetrics::series(const std::string& endpoint, const std::string& region,
                                                 const std::string& model) {
  auto [it, fresh] = series_.try_emplace(endpoint + '\x1f' + region + '\x1f' + model);
  Series& s = it->second;
  if (fresh) {
    metrics::Labels l{{"endpoint", endpoint}, {"region", region}, {"model", model}};
    s.attempts = &r_.counter("beacon_worker_inference_attempts_total", "Inference attempts finished (answered or failed), per endpoint", l);
    s.latency = &r_.histogram("beacon_worker_inference_latency_seconds",
                              "Inference attempt latency (attempts that got an HTTP response)", l);
    s.in_flight = &r_.gauge("beacon_worker_endpoint_in_flight", "Inference requests on the wire now", l);
    s.queued = &r_.gauge("beacon_worker_endpoint_queued",
                         "Inference requests waiting for a slot, the circuit or a backoff", l);
    s.circuit = &r_.gauge("beacon_worker_endpoint_circuit_state", "Circuit breaker: 0 closed, 1 half-open, 2 open", l);
    s.quota = &r_.gauge("beacon_worker_endpoint_quota_exhausted",
                        "1 while the endpoint is paused because its quota or billing limit is exhausted", l);
    s.in_flight_limit = &r_.gauge("beacon_worker_endpoint_in_flight_limit",
                                  "Requests this worker may have open to the endpoint now (adaptive with auto)", l);
    s.opened = &r_.counter("beacon_worker_endpoint_circuit_opened_total", "Times the endpoint's circuit opened", l);
    auto with_direction = [&](const char* d) {
      auto ld = l;
      ld.emplace_back("direction", d);
      return ld;
    };
    s.input_tokens = &r_.counter("beacon_worker_tokens_total", "Tokens of answered requests, as the server reported them",
                                 with_direction("input"));
    s.output_tokens = &r_.counter("beacon_worker_tokens_total", "Tokens of answered requests, as the server reported them",
                                  with_direction("output"));
    s.cost = &r_.counter("beacon_worker_cost_micro_usd_total",
                         "Cost of answered requests by the endpoint entry's prices, in millionths of a USD", l);
  }
  return s;
}

void EndpointMetrics::observe(const infer::AttemptEvent& e) {
  std::lock_guard lock(mutex_);
  Series& s = series(e.endpoint, e.region, e.model);
  s.attempts->inc();
  if (e.http_status != 0) s.latency->observe(e.latency_ms / 1000.0);
  if (!e.error_kind) return;
  auto& counter = s.errors[*e.error_kind];
  if (counter == nullptr) {
    counter = &r_.counter("beacon_worker_inference_errors_total", "Failed inference attempts by kind, per endpoint",
                          {{"endpoint", e.endpoint}, {"region", e.region}, {"model", e.model}, {"kind", std::string(to_string(*e.error_kind))}});
  }
  counter->inc();
}

void EndpointMetrics::spent(const std::string& endpoint, const std::string& region, const std::string& model,
                            const Output& output, std::optional<double> cost_usd) {
  std::lock_guard lock(mutex_);
  Series& s = series(endpoint, region, model);
  if (output.prompt_tokens && *output.prompt_tokens > 0) s.input_tokens->inc(static_cast<double>(*output.prompt_tokens));
  if (output.completion_tokens && *output.completion_tokens > 0)
    s.output_tokens->inc(static_cast<double>(*output.completion_tokens));
  if (cost_usd && *cost_usd > 0) {
    s.cost_carry_micro_usd += *cost_usd * 1e6;
    const auto whole = static_cast<std::uint64_t>(s.cost_carry_micro_usd);
    s.cost->inc(whole);
    s.cost_carry_micro_usd -= static_cast<double>(whole);
  }
}

void EndpointMetrics::refresh(const std::vector<infer::EndpointStats>& stats) {
  std::lock_guard lock(mutex_);
  for (const auto& st : stats) {
    Series& s = series(st.endpoint, st.region, st.model);
    s.in_flight->set(static_cast<double>(st.in_flight));
    s.queued->set(static_cast<double>(st.queued));
    double state = 0;
    if (st.circuit == infer::CircuitState::half_open) state = 1;
    if (st.circuit == infer::CircuitState::open) state = 2;
    s.circuit->set(state);
    s.quota->set(st.quota_exhausted ? 1 : 0);
    s.in_flight_limit->set(static_cast<double>(st.in_flight_limit));
    if (st.circuit_opened > s.opened_seen) {
      s.opened->inc(st.circuit_opened - s.opened_seen);
      s.opened_seen = st.circuit_opened;
    }
  }
}

}  // namespace beacon
