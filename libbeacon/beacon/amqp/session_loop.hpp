#pragma once
// The reconnect loop of every long-running part that owns a broker
// connection (worker, progress-writer): connect, serve until stopped, and on a
// lost connection or an unexpected exception forget what the session held and
// start again after a backoff. One loop, so both parts treat an outage and a
// bug the same way:
//   * AmqpError (outage): the broker requeues every unacked delivery by
//     itself; the part forgets its delivery tags and reconnects.
//   * any other exception (a bug): logged critical, the session is dropped
//     first, so that everything unacked goes back to the queue (a message that
//     keeps causing it ends in beacon.dead through the delivery limit).
// Nothing is acked here: acking stays with the part's own rules.
#include <chrono>
#include <functional>
#include <string>

#include <beacon/amqp/backoff.hpp>

namespace beacon::amqp {

struct SessionHooks {
  std::function<void()> connect;  // connect, declare, start consuming; throws AmqpError
  std::function<void()> serve;    // returns when the part was asked to stop
  // The connection is gone (after an outage or a dropped session): whatever
  // the part held for it is void. `why` is for the log.
  std::function<void(const std::string& why)> lost;
  std::function<void()> drop_session;  // close the broker connection after a bug
  // Waits `wait`, returns false when a stop was requested meanwhile.
  std::function<bool(std::chrono::milliseconds wait)> wait_unless_stopped;
  std::function<std::string()> redacted_url;  // for the log line of each reconnect
  std::string who;                            // "worker w-1 region=us-east", for logs
};

enum class SessionEnd {
  served,                    // serve() returned: the part was stopped while connected
  stopped_while_disconnected,  // a stop came during a reconnect wait
};

SessionEnd run_session_loop(const SessionHooks& hooks,
                            BackoffOptions backoff = {std::chrono::milliseconds(200), std::chrono::milliseconds(10000)},
                            Backoff::Uniform uniform = nullptr);

// A wait_unless_stopped over a stop predicate, waking every 50 ms to look.
bool sleep_unless(std::chrono::milliseconds wait, const std::function<bool()>& stop_requested);

}  // namespace beacon::amqp
