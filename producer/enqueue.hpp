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
#include <string>
#include <vector>

#include <beacon/core/messages.hpp>

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

// Declares the topology for `regions`, then publishes. Throws amqp::AmqpError
// when the broker cannot be reached at all.
EnqueueResult enqueue_all(const EnqueueOptions& options, const std::vector<std::string>& regions,
                          const std::vector<ExecutionMessage>& messages);

}  // namespace beacon::producer
