#include "enqueue.hpp"

#include <map>
#include <optional>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include <beacon/amqp/backoff.hpp>
#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include <beacon/amqp/topology.hpp>

namespace beacon::producer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Read confirms as they arrive rather than letting them pile up in the socket.
constexpr std::size_t kPollEvery = 256;

void connect_and_declare(amqp::Client& client, const std::vector<std::string>& regions) {
  client.connect();
  auto topo = amqp::topology_options_from_env();
  amqp::declare_core(client, topo);
  for (const auto& r : regions) amqp::declare_region(client, r, topo);
}

amqp::ClientOptions client_options(const EnqueueOptions& options) {
  amqp::ClientOptions c;
  c.url = options.amqp_url;
  c.connection_name = "beacon-producer";
  try {
    c.heartbeat_s = amqp::heartbeat_s_from_env(c.heartbeat_s);
  } catch (const std::invalid_argument& e) {
    spdlog::warn("{}; using {} s", e.what(), c.heartbeat_s);
  }
  return c;
}

}  // namespace

EnqueueResult enqueue_all(const EnqueueOptions& options, const std::vector<std::string>& regions,
                          const std::vector<ExecutionMessage>& messages) {
  amqp::Client client(client_options(options));
  connect_and_declare(client, regions);  // the first failure is "unreachable": exit 3
  amqp::Backoff backoff(amqp::BackoffOptions{milliseconds(200), milliseconds(5000)});
  std::optional<Clock::time_point> outage_since;  // first failure since the last confirmed round
  bool gave_up = false;
  EnqueueResult result;
  for (std::size_t start = 0; start < messages.size(); start += options.batch) {
    std::size_t end = std::min(messages.size(), start + options.batch);
    std::vector<std::size_t> todo;
    for (std::size_t i = start; i < end; ++i) todo.push_back(i);
    int refused_rounds = 0;
    while (!todo.empty() && !gave_up) {
      std::map<std::uint64_t, std::size_t> by_seq;  // publishes of this round not yet confirmed ok
      std::vector<bool> done(end - start, false);    // confirmed ok this round
      // Settles confirms of this round; returns how many the broker refused.
      auto settle = [&](const std::vector<amqp::Confirm>& confirms) {
        std::size_t refused = 0;
        for (const auto& c : confirms) {
          auto it = by_seq.find(c.seq);
          if (it == by_seq.end()) continue;
          if (!c.ok) {
            ++refused;
            spdlog::warn("broker refused {} ({}); publishing again", messages[it->second].key.message_id(), c.reason);
            continue;
          }
          ++result.confirmed;
          done[it->second - start] = true;
          by_seq.erase(it);
        }
        return refused;
      };
      auto still_open = [&] {
        std::vector<std::size_t> open;
        for (auto i : todo)
          if (!done[i - start]) open.push_back(i);
        return open;
      };
      try {
        if (!client.connected()) {
          connect_and_declare(client, regions);
          spdlog::warn("reconnected to the broker; publishing {} unconfirmed messages again", todo.size());
        }
        std::size_t n = 0;
        for (auto i : todo) {
          const auto& m = messages[i];
          amqp::PublishProps props;
          props.message_id = m.key.message_id();
          by_seq[client.publish(std::string(amqp::kExecExchange), m.key.region, encode(m), props)] = i;
          if (++n % kPollEvery == 0) client.poll(milliseconds(0));
        }
        auto refused = settle(client.wait_for_confirms(Clock::now() + options.confirm_timeout));
        todo = still_open();  // the refused ones
        outage_since.reset();
        backoff.reset();
        if (refused > 0 && ++refused_rounds >= options.max_rounds) break;
      } catch (const amqp::AmqpError& e) {
        // What was confirmed before the loss is safe; the fate of the rest
        // (and of what this round never got to publish) is unknown: publish
        // it again after reconnecting. A duplicate is absorbed by the workers
        // and the progress-writer.
        settle(client.take_confirms());
        auto again = still_open();
        todo = std::move(again);
        client.close();
        auto now = Clock::now();
        if (!outage_since) outage_since = now;
        if (now - *outage_since >= options.give_up_after) {
          spdlog::error("broker unreachable for {} s while enqueueing: giving up",
                        std::chrono::duration_cast<std::chrono::seconds>(now - *outage_since).count());
          gave_up = true;
          break;
        }
        auto wait = backoff.next();
        spdlog::warn("broker connection lost while enqueueing ({}); {} messages unconfirmed, retrying in {} ms",
                     e.what(), todo.size(), wait.count());
        std::this_thread::sleep_for(wait);
      }
    }
    if (gave_up) {
      // This batch's open messages and every later batch stay unconfirmed.
      result.unconfirmed += todo.size() + (messages.size() - end);
      for (auto i : todo) spdlog::error("never confirmed by the broker: {}", messages[i].key.log_context());
      if (end < messages.size())
        spdlog::error("{} further messages were not published", messages.size() - end);
      break;
    }
    if (!todo.empty()) {
      result.unconfirmed += todo.size();
      for (auto i : todo) spdlog::error("never confirmed by the broker: {}", messages[i].key.log_context());
    }
  }
  client.close();
  return result;
}

}  // namespace beacon::producer
