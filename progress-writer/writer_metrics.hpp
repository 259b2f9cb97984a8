#pragma once
// The progress-writer's metrics (names are part of the README's contract).
#include <beacon/metrics/registry.hpp>

namespace beacon {

struct WriterMetrics {
  metrics::Registry& r = metrics::default_registry();
  metrics::Counter& consumed = r.counter("beacon_writer_events_consumed_total", "Result events received");
  metrics::Counter& transitioned = r.counter("beacon_writer_events_applied_total", "Events that changed an execution");
  metrics::Counter& ignored = r.counter("beacon_writer_events_ignored_total", "Events that changed nothing: duplicates, late events, or a started event superseded by its terminal event in the same batch");
  metrics::Counter& dead = r.counter("beacon_writer_dead_lettered_total", "Events sent to beacon.dead");
  metrics::Counter& acked = r.counter("beacon_writer_events_acked_total", "Events acknowledged after commit");
  metrics::Counter& requeued = r.counter("beacon_writer_events_requeued_total",
                                         "Events handed back as fresh copies (stopping before the database took them)");
  metrics::Counter& refreshed = r.counter("beacon_writer_messages_refreshed_total",
                                          "Well-formed events that came back often, re-published with a delivery count of 0");
  metrics::Counter& budget_stops = r.counter("beacon_writer_budget_stops_total",
                                             "Jobs stopped because their answers spent the job's budget");
  metrics::Counter& db_errors = r.counter("beacon_writer_db_errors_total", "Failed batch transactions (retried)");
  metrics::Counter& reconnects = r.counter("beacon_writer_broker_reconnects_total", "Broker connections lost");
  metrics::Counter& connect_failures = r.counter("beacon_writer_broker_connect_failures_total",
                                                 "Failed attempts to (re)connect to the broker");
  metrics::Histogram& batch_size = r.histogram("beacon_writer_batch_size", "Events per committed batch", {},
                                               {1, 5, 10, 50, 100, 250, 500, 1000, 5000});
  metrics::Histogram& commit_seconds = r.histogram("beacon_writer_commit_seconds", "Time to apply and commit one batch");
  metrics::Histogram& lag_seconds = r.histogram("beacon_writer_event_lag_seconds", "From an event's arrival to its commit");
  // What a user waiting for a result meets: per completed or failed event,
  // from the worker's completed_at to the commit that made the row visible
  // (the broker hops included; worker and writer clocks are assumed in step).
  metrics::Histogram& visible_seconds =
      r.histogram("beacon_writer_completion_to_visible_seconds",
                  "From an execution's completion (the worker's completed_at) to its row committed", {},
                  {0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1, 2.5, 5, 10, 30, 60});
};

}  // namespace beacon
