#pragma once
// The worker's own Prometheus metrics (endpoint metrics: endpoint_metrics.hpp).
#include <beacon/metrics/registry.hpp>

namespace beacon {

struct WorkerMetrics {
  explicit WorkerMetrics(const std::string& region) : q({{"region", region}}) {}
  metrics::Labels q;
  metrics::Registry& r = metrics::default_registry();
  metrics::Counter& consumed = r.counter("beacon_worker_messages_consumed_total", "Execution messages received", q);
  metrics::Counter& acked = r.counter("beacon_worker_messages_acked_total", "Execution messages acknowledged", q);
  metrics::Counter& requeued = r.counter("beacon_worker_messages_requeued_total",
                                         "Messages handed back to the queue (as a fresh copy)", q);
  metrics::Counter& refreshed = r.counter(
      "beacon_worker_messages_refreshed_total",
      "Valid messages that came back often (lost connections, restarts) re-published with a delivery count of 0", q);
  metrics::Counter& dead = r.counter("beacon_worker_messages_dead_lettered_total", "Malformed messages sent to beacon.dead", q);
  metrics::Counter& skipped = r.counter("beacon_worker_skipped_already_completed_total",
                                        "Redelivered messages acked without inference (already completed)", q);
  metrics::Counter& absorbed = r.counter(
      "beacon_worker_duplicates_absorbed_total",
      "Duplicate or redelivered messages answered by this worker's own running or recent inference", q);
  metrics::Counter& cancelled = r.counter("beacon_worker_cancelled_total",
                                          "Executions dropped for a cancelled job without an endpoint call", q);
  metrics::Counter& completed = r.counter("beacon_worker_executions_completed_total", "Completed executions", q);
  metrics::Counter& reused = r.counter(
      "beacon_worker_executions_reused_total",
      "Completed executions answered by copying an earlier job's answer to the same request (no endpoint call; "
      "also counted in beacon_worker_executions_completed_total)", q);
  metrics::Counter& failed = r.counter("beacon_worker_executions_failed_total", "Failed executions", q);
  metrics::Counter& reconnects = r.counter("beacon_worker_broker_reconnects_total", "Broker connections lost", q);
  metrics::Counter& connect_failures = r.counter("beacon_worker_broker_connect_failures_total",
                                                 "Failed attempts to (re)connect to the broker", q);
  metrics::Counter& publish_refused = r.counter("beacon_worker_publish_refused_total",
                                                "Publishes the broker nacked or returned", q);
  metrics::Counter& control_errors = r.counter("beacon_worker_bad_control_messages_total",
                                               "Malformed control messages ignored", q);
  metrics::Gauge& in_flight = r.gauge("beacon_worker_in_flight", "Messages held, not yet acknowledged", q);
  metrics::Gauge& connected = r.gauge("beacon_worker_broker_connected", "1 while connected to the broker", q);
  metrics::Gauge& lanes = r.gauge("beacon_worker_lanes", "Job lanes (fair share) this worker consumes beside its region queue", q);
};

}  // namespace beacon
