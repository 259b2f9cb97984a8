#include <beacon/amqp/session_loop.hpp>

#include <thread>

#include <spdlog/spdlog.h>

#include <beacon/amqp/errors.hpp>

namespace beacon::amqp {

SessionEnd run_session_loop(const SessionHooks& hooks, BackoffOptions options, Backoff::Uniform uniform) {
  Backoff backoff = uniform ? Backoff(options, std::move(uniform)) : Backoff(options);
  while (true) {
    try {
      hooks.connect();
      backoff.reset();
      hooks.serve();
      return SessionEnd::served;
    } catch (const AmqpError& e) {
      hooks.lost(e.what());
    } catch (const std::exception& e) {
      spdlog::critical("{}: unexpected error: {}; reconnecting, unacked messages return to the queue", hooks.who,
                       e.what());
      hooks.drop_session();
      hooks.lost(e.what());
    }
    const auto wait = backoff.next();
    spdlog::warn("{}: reconnecting to the broker {} in {} ms (attempt {}, ceiling {} ms)", hooks.who,
                 hooks.redacted_url(), wait.count(), backoff.attempts(), backoff.ceiling().count());
    if (!hooks.wait_unless_stopped(wait)) return SessionEnd::stopped_while_disconnected;
  }
}

bool sleep_unless(std::chrono::milliseconds wait, const std::function<bool()>& stop_requested) {
  const auto until = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < until) {
    if (stop_requested()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(50), until - std::chrono::steady_clock::now()));
  }
  return !stop_requested();
}

}  // namespace beacon::amqp
