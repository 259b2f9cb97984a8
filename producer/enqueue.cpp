#include "enqueue.hpp"

#include <map>
#include <thread>

#include <spdlog/spdlog.h>

#include <beacon/amqp/backoff.hpp>
#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include <beacon/amqp/topology.hpp>

namespace beacon::producer {
namespace {

using Clock = std::chrono::steady_clock;

void connect_and_declare(amqp::Client& client, const std::vector<std::string>& regions) {
  client.connect();
  auto topo = amqp::topology_options_from_env();
  amqp::declare_core(client, topo);
  for (const auto& r : regions) amqp::declare_region(client, r, topo);
}

}  // namespace

EnqueueResult enqueue_all(const EnqueueOptions& options, const std::vector<std::string>& regions,
                          const std::vector<ExecutionMessage>& messages) {
  amqp::Client client(amqp::ClientOptions{options.amqp_url, "beacon-producer"});
  connect_and_declare(client, regions);  // the first failure is "unreachable": exit 3
  amqp::Backoff backoff(amqp::BackoffOptions{std::chrono::milliseconds(200), std::chrono::milliseconds(5000)});
  EnqueueResult result;
  for (std::size_t start = 0; start < messages.size(); start += options.batch) {
    std::size_t end = std::min(messages.size(), start + options.batch);
    std::vector<std::size_t> todo;
    for (std::size_t i = start; i < end; ++i) todo.push_back(i);
    for (int round = 0; round < options.max_rounds && !todo.empty(); ++round) {
      try {
        if (!client.connected()) connect_and_declare(client, regions);
        std::map<std::uint64_t, std::size_t> by_seq;
        for (auto i : todo) {
          const auto& m = messages[i];
          amqp::PublishProps props;
          props.message_id = m.key.message_id();
          by_seq[client.publish(std::string(amqp::kExecExchange), m.key.region, encode(m), props)] = i;
        }
        std::vector<std::size_t> again;
        for (const auto& c : client.wait_for_confirms(Clock::now() + std::chrono::seconds(60))) {
          auto it = by_seq.find(c.seq);
          if (it == by_seq.end()) continue;
          if (c.ok) {
            ++result.confirmed;
          } else {
            spdlog::warn("broker refused {} ({}); publishing again", messages[it->second].key.message_id(), c.reason);
            again.push_back(it->second);
          }
          by_seq.erase(it);
        }
        for (auto& [seq, i] : by_seq) again.push_back(i);  // never answered
        todo = std::move(again);
        backoff.reset();
      } catch (const amqp::AmqpError& e) {
        // Whatever this round published is unknown: publish it again after
        // reconnecting (duplicates are absorbed downstream).
        client.close();
        auto wait = backoff.next();
        spdlog::warn("broker connection lost while enqueueing ({}); retrying in {} ms", e.what(), wait.count());
        std::this_thread::sleep_for(wait);
      }
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
