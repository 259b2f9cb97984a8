#pragma once
// beacon-worker: consumes beacon.exec.<region>, calls the GPU endpoint
// configured for (region, model), publishes started / completed / failed
// events on beacon.results.
//
// Guarantee: at least once, acked after the terminal event is confirmed.
// An execution message is acknowledged only after the broker confirmed the
// completed/failed (or cancelled) event for it, so a worker killed at any
// moment loses nothing: its unacked messages return to the queue. Duplicate
// events are harmless (the progress-writer applies each transition once) and
// duplicate GPU calls are avoided by the preflight check (preflight.hpp).
//
// Threads: this part's loop runs on the thread that owns the AMQP connection
// (consume, publish, confirms, heartbeats); inference runs on an Asio thread;
// the preflight check on a third. Results travel back through mailboxes.
// The loop only wires the rules, which are plain code with unit tests:
// slot_table.hpp (which deliveries wait for which execution), confirm_ledger.hpp
// (what a confirm allows: the one place an ack is decided), cancel_memory.hpp
// and recent_outcomes.hpp (deliveries answered without paying).
//
// Cancel (control_message.hpp): a cancel of (job, submission N) drops the
// job's messages with submission <= N, queued or waiting here for an endpoint
// slot; requests on the wire finish and are kept. Requeues of the worker's own
// doing are fresh copies (amqp/fresh_copy.hpp), so the broker's delivery limit
// only ever catches poison.
#include <beacon/amqp/url.hpp>

#include <chrono>
#include <string>

namespace beacon {

struct WorkerOptions {
  std::string region;
  std::string worker_id;
  std::string amqp_url;
  amqp::NodeOrder amqp_node_order = amqp::NodeOrder::random_start;  // BEACON_AMQP_NODE_ORDER
  amqp::TlsFiles amqp_tls{};  // BEACON_AMQP_CA_FILE, _CERT_FILE, _KEY_FILE (amqps:// only)
  std::string database_url;     // optional: enables the pay-once preflight
  std::string endpoints_file;
  int concurrency = 32;         // messages held at once (prefetch) = requests in flight at most
  std::chrono::seconds drain_timeout{60};  // SIGTERM: time for in-flight requests to finish
  int heartbeat_s = 30;                    // AMQP heartbeat (BEACON_AMQP_HEARTBEAT_S)
  std::string metrics_addr;
};

// Runs until SIGTERM/SIGINT; returns the exit code (2 bad configuration).
// After the signal it stops consuming, lets in-flight requests finish for up
// to drain_timeout, then aborts the rest (requeued, never failed) and exits 0
// at most drain_timeout + 10 s after the signal. The bound holds while the
// broker blocks the connection (resource alarm): every wait of the loop is
// bounded, and a send the broker does not take in time ends the connection.
int run_worker(const WorkerOptions& options);

}  // namespace beacon
