#pragma once
// Per-endpoint inference metrics of a worker, from what InferenceClient
// reports: every attempt (observe(), on the client's strand) and a periodic
// snapshot of its stats (refresh(), on the owner thread). Labels: endpoint
// (redacted URL of the endpoint-file entry), region, model (the entry's
// model, "*" possible), and kind for errors.
//
//   beacon_worker_inference_attempts_total{endpoint,region,model}      attempts finished
//   beacon_worker_inference_errors_total{endpoint,region,model,kind}   failed attempts by kind
//                                                                      (connect, timeout, reset, http, ...)
//   beacon_worker_inference_latency_seconds{endpoint,region,model}     attempts that got a response
//   beacon_worker_endpoint_in_flight{endpoint,region,model}            requests on the wire now
//   beacon_worker_endpoint_queued{endpoint,region,model}               waiting for a slot, the circuit or a backoff
//   beacon_worker_endpoint_circuit_state{endpoint,region,model}        0 closed, 1 half-open, 2 open
//   beacon_worker_endpoint_circuit_opened_total{endpoint,region,model} times the circuit opened
//   beacon_worker_tokens_total{endpoint,region,model,direction}        tokens of answered requests (input, output)
//   beacon_worker_cost_micro_usd_total{endpoint,region,model}          their cost by the entry's prices, in
//                                                                      millionths of a USD (counters are integers;
//                                                                      the fraction is carried, never dropped)
//   beacon_worker_endpoint_quota_exhausted{endpoint,region,model}      1 while paused by an exhausted quota
//   beacon_worker_endpoint_in_flight_limit{endpoint,region,model}      the in-flight cap now (adaptive with "auto")
#include <cstdint>
#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <vector>

#include <beacon/infer/inference_client.hpp>
#include <beacon/metrics/registry.hpp>

namespace beacon {

class EndpointMetrics {
 public:
  explicit EndpointMetrics(metrics::Registry& registry) : r_(registry) {}
  // One finished attempt. Thread-safe.
  void observe(const infer::AttemptEvent& e);
  // Gauges and the circuit counter from a stats() snapshot. Thread-safe.
  void refresh(const std::vector<infer::EndpointStats>& stats);
  // Tokens and cost of one answered execution. Thread-safe.
  void spent(const std::string& endpoint, const std::string& region, const std::string& model, const Output& output,
             std::optional<double> cost_usd);

 private:
  struct Series {
    metrics::Counter* attempts = nullptr;
    metrics::Histogram* latency = nullptr;
    metrics::Gauge* in_flight = nullptr;
    metrics::Gauge* queued = nullptr;
    metrics::Gauge* circuit = nullptr;
    metrics::Gauge* quota = nullptr;
    metrics::Gauge* in_flight_limit = nullptr;
    metrics::Counter* opened = nullptr;
    metrics::Counter* input_tokens = nullptr;
    metrics::Counter* output_tokens = nullptr;
    metrics::Counter* cost = nullptr;
    double cost_carry_micro_usd = 0;  // below one micro-USD, not yet counted
    std::uint64_t opened_seen = 0;
    std::map<ErrorKind, metrics::Counter*> errors;
  };
  Series& series(const std::string& endpoint, const std::string& region, const std::string& model);

  metrics::Registry& r_;
  std::mutex mutex_;
  std::map<std::string, Series> series_;  // by endpoint \x1f region \x1f model
};

}  // namespace beacon
