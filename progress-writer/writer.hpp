#pragma once
// beacon-progress-writer: consumes beacon.results and applies events to
// Postgres in batches. Guarantee: "acks after commit" — a result event is
// acknowledged to RabbitMQ only after the transaction that applied it has
// committed (or after it was dead-lettered with a confirmed publish), so a
// crash at any point loses nothing; replays are harmless because the store
// applies each transition at most once.
#include <beacon/amqp/url.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace beacon {

struct WriterOptions {
  std::string amqp_url;
  amqp::NodeOrder amqp_node_order = amqp::NodeOrder::random_start;  // BEACON_AMQP_NODE_ORDER
  amqp::TlsFiles amqp_tls{};  // BEACON_AMQP_CA_FILE, _CERT_FILE, _KEY_FILE (amqps:// only)
  std::string database_url;
  std::size_t batch_max = 500;                      // events per transaction at most
  std::chrono::milliseconds batch_wait{100};        // oldest event waits at most this long
  std::chrono::seconds drain_timeout{30};           // SIGTERM: time to finish the batch
  std::string metrics_addr;                         // empty: no metrics server
  int heartbeat_s = 30;                             // AMQP heartbeat (BEACON_AMQP_HEARTBEAT_S)
};

// Runs until SIGTERM/SIGINT; returns the process exit code. After the
// signal it stops consuming, commits and acks what it holds, and exits 0 at
// most drain_timeout after the signal (plus the broker's confirm of the
// events it puts back: what the database did not take by then goes back to
// the queue as fresh copies, never as requeues that count towards the
// delivery limit). Broker and database outages are
// ridden out with capped, jittered backoff; it never exits because of one.
int run_progress_writer(const WriterOptions& options);

}  // namespace beacon
