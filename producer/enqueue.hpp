#pragma once
// Publishes execution messages with publisher confirms, in batches (one
// confirm round trip per batch, not per message). A message counts as
// enqueued only when the broker confirmed it; nacked or returned ones are
// published again, and a lost connection is re-opened with backoff and the
// unconfirmed part of the batch re-published (for up to give_up_after of
// outage; beacon-producer then exits 4). A broker that blocks publishing
// (connection.blocked: memory or disk alarm) is waited for up to
// confirm_timeout, then submit gives up (exit 4) without reconnecting; each
// round starts with a tiny unroutable publish so an alarm raised before the
// submit is seen before any execution message is written. Duplicates this may create
// are harmless: the worker's preflight and the progress-writer's state
// machine absorb them.
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <beacon/core/messages.hpp>

namespace beacon::amqp {
class Client;
class Backoff;
}  // namespace beacon::amqp

namespace beacon::producer {

struct EnqueueOptions {
  std::string amqp_url;
  std::size_t batch = 1000;
  int max_rounds = 8;  // rounds per batch in which the broker refuses (nack/return) before giving up on those
  // One round's wait for its confirms, and the longest submit waits for a
  // broker that blocked publishing (memory or disk alarm) before giving up
  // (exit 4). Also bounds every write to the broker.
  std::chrono::milliseconds confirm_timeout{60000};
  // A broker outage (connection lost, reconnects failing) is ridden out with
  // capped, jittered backoff for this long; then what is left stays unconfirmed.
  std::chrono::milliseconds give_up_after{120000};
};

struct EnqueueResult {
  std::size_t confirmed = 0;
  std::size_t unconfirmed = 0;
};

// BEACON_SUBMIT_CONFIRM_TIMEOUT_S (seconds, default 60): EnqueueOptions::confirm_timeout.
// Throws BadInput naming the variable for anything but an integer in [1, 86400].
std::chrono::milliseconds submit_confirm_timeout_from_env();

// One broker connection for a whole submit, fed chunk by chunk (the job's
// messages are never all in memory). Once it gave up (a broker blocked or
// gone for longer than its bounds), every later send is unconfirmed at once.
class Enqueuer {
 public:
  // Connects and declares the topology for `regions` (every region queue)
  // and the lanes of `job_id` in `lane_regions` (db/submit_lanes.hpp). A
  // message of a lane region is published to the job's lane, any other to
  // its region queue. Throws amqp::AmqpError when the broker cannot be
  // reached at all.
  Enqueuer(EnqueueOptions options, std::vector<std::string> regions, std::string job_id,
           std::vector<std::string> lane_regions);
  ~Enqueuer();
  Enqueuer(const Enqueuer&) = delete;
  Enqueuer& operator=(const Enqueuer&) = delete;

  // Publishes `messages` in batches of options.batch and waits for their confirms.
  EnqueueResult send(const std::vector<ExecutionMessage>& messages);
  bool gave_up() const { return gave_up_; }

 private:
  // The routing key on beacon.exec of a message of `region`.
  const std::string& routing_key(const std::string& region) const;

  EnqueueOptions options_;
  std::vector<std::string> regions_;
  std::string job_id_;
  std::vector<std::string> lane_regions_;
  std::map<std::string, std::string> routing_keys_;  // by region; built once, not per message
  std::unique_ptr<amqp::Client> client_;
  std::unique_ptr<amqp::Backoff> backoff_;
  // First failure since the last confirmed round (a flag and a time, not an
  // optional: GCC 12 -O2 reports a false maybe-uninitialized on the optional).
  bool in_outage_ = false;
  std::chrono::steady_clock::time_point outage_since_{};
  bool gave_up_ = false;
};

}  // namespace beacon::producer
