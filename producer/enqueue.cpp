#include "enqueue.hpp"

#include <charconv>
#include <cstdlib>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include <beacon/amqp/backoff.hpp>
#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include <beacon/amqp/topology.hpp>
#include <beacon/core/errors.hpp>

namespace beacon::producer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Read confirms as they arrive rather than letting them pile up in the socket.
constexpr std::size_t kPollEvery = 256;

// Every region queue is declared, lane or not: workers consume it whatever
// this job does. A lane is declared on every (re)connect too: one that
// expired meanwhile would make the publishes unroutable.
void connect_and_declare(amqp::Client& client, const std::vector<std::string>& regions, const std::string& job_id,
                         const std::vector<std::string>& lane_regions) {
  client.connect();
  auto topo = amqp::topology_options_from_env();
  amqp::declare_core(client, topo);
  for (const auto& r : regions) amqp::declare_region(client, r, topo);
  for (const auto& r : lane_regions) amqp::declare_lane(client, r, job_id, topo);
}

std::map<std::string, std::string> routing_keys(const std::vector<std::string>& regions, const std::string& job_id,
                                                const std::vector<std::string>& lane_regions) {
  std::map<std::string, std::string> keys;
  for (const auto& r : regions) keys[r] = r;
  for (const auto& r : lane_regions) keys[r] = amqp::lane_routing_key(r, job_id);
  return keys;
}

// The broker blocked publishing (resource alarm) for longer than the
// confirm timeout: reconnecting cannot help, so submit gives up at once.
struct BrokerBlocked {
  std::string what;
};

// Waits for every outstanding publish of the round. A blocked broker
// confirms nothing until its alarm clears: that wait is bounded by how long
// it has been blocked; the ordinary deadline starts again once it unblocks.
std::vector<amqp::Confirm> wait_round(amqp::Client& client, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (client.unconfirmed() > 0) {
    if (auto blocked = client.blocked_for()) {
      if (*blocked >= timeout) {
        throw BrokerBlocked{"the broker has blocked publishing (" + client.blocked_reason() + ") for " +
                            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*blocked).count()) +
                            " s"};
      }
      deadline = Clock::now() + timeout;
    } else if (Clock::now() >= deadline) {
      throw amqp::Timeout("amqp: " + std::to_string(client.unconfirmed()) +
                          " publishes still unconfirmed at the deadline");
    }
    client.poll(milliseconds(100));
  }
  return client.take_confirms();
}

// Before a round: one tiny unroutable publish (not mandatory: the broker
// drops it and confirms at once). A broker under a resource alarm blocks a
// connection only once it publishes, so this makes the alarm visible before
// any execution message is in the socket, where it would land later and
// duplicate the next submit's.
void probe_flow(amqp::Client& client, milliseconds timeout) {
  amqp::PublishProps props;
  props.mandatory = false;
  props.persistent = false;
  client.publish("", "beacon.flow-probe", "", props);
  wait_round(client, timeout);  // confirms of unknown sequence numbers are ignored by settle
}

amqp::ClientOptions client_options(const EnqueueOptions& options) {
  amqp::ClientOptions c;
  c.url = options.amqp_url;
  c.connection_name = "beacon-producer";
  c.node_order = amqp::node_order_from_env();  // these two checked by main before anything started
  c.tls = amqp::tls_files_from_env();
  c.send_timeout = options.confirm_timeout;
  try {
    c.heartbeat_s = amqp::heartbeat_s_from_env(c.heartbeat_s);
  } catch (const std::invalid_argument& e) {
    spdlog::warn("{}; using {} s", e.what(), c.heartbeat_s);
  }
  return c;
}

}  // namespace

Enqueuer::Enqueuer(EnqueueOptions options, std::vector<std::string> regions, std::string job_id,
                   std::vector<std::string> lane_regions)
    : options_(std::move(options)),
      regions_(std::move(regions)),
      job_id_(std::move(job_id)),
      lane_regions_(std::move(lane_regions)),
      routing_keys_(routing_keys(regions_, job_id_, lane_regions_)),
      client_(std::make_unique<amqp::Client>(client_options(options_))),
      backoff_(std::make_unique<amqp::Backoff>(amqp::BackoffOptions{milliseconds(200), milliseconds(5000)})) {
  connect_and_declare(*client_, regions_, job_id_, lane_regions_);  // the first failure is "unreachable": exit 3
}

Enqueuer::~Enqueuer() { client_->close(); }

const std::string& Enqueuer::routing_key(const std::string& region) const {
  auto it = routing_keys_.find(region);
  return it == routing_keys_.end() ? region : it->second;  // a region the spec lacks: its queue, as before
}

EnqueueResult Enqueuer::send(const std::vector<ExecutionMessage>& messages) {
  const EnqueueOptions& options = options_;
  const std::vector<std::string>& regions = regions_;
  amqp::Client& client = *client_;
  amqp::Backoff& backoff = *backoff_;
  bool& in_outage = in_outage_;
  Clock::time_point& outage_since = outage_since_;
  bool& gave_up = gave_up_;
  EnqueueResult result;
  if (gave_up) {
    result.unconfirmed = messages.size();
    return result;
  }
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
          connect_and_declare(client, regions, job_id_, lane_regions_);
          spdlog::warn("reconnected to the broker; publishing {} unconfirmed messages again", todo.size());
        }
        probe_flow(client, options.confirm_timeout);
        std::size_t n = 0;
        for (auto i : todo) {
          // Blocked mid-round: publish no more (they would only wait in the
          // socket); the rest go out in the next round, once it unblocks.
          if (client.blocked()) break;
          const auto& m = messages[i];
          amqp::PublishProps props;
          props.message_id = m.key.message_id();
          const auto seq = client.publish(std::string(amqp::kExecExchange), routing_key(m.key.region), encode(m), props);
          by_seq[seq] = i;
          if (++n % kPollEvery == 0) client.poll(milliseconds(0));
        }
        auto refused = settle(wait_round(client, options.confirm_timeout));
        todo = still_open();  // the refused ones
        in_outage = false;
        backoff.reset();
        if (refused > 0 && ++refused_rounds >= options.max_rounds) break;
      } catch (const BrokerBlocked& b) {
        settle(client.take_confirms());
        todo = still_open();
        spdlog::error("{}, longer than BEACON_SUBMIT_CONFIRM_TIMEOUT_S ({} s): giving up; run the same submit again "
                      "once the broker's alarm is cleared",
                      b.what, std::chrono::duration_cast<std::chrono::seconds>(options.confirm_timeout).count());
        gave_up = true;
        break;
      } catch (const amqp::AmqpError& e) {
        // What was confirmed before the loss is safe; the fate of the rest
        // (and of what this round never got to publish) is unknown: publish
        // it again after reconnecting. A duplicate is absorbed by the workers
        // and the progress-writer.
        settle(client.take_confirms());
        auto again = still_open();
        todo = std::move(again);
        const bool was_blocked = client.blocked();
        const std::string reason = client.blocked_reason();
        client.close();
        if (was_blocked) {
          // Lost while the broker blocked us (a write timed out): a new
          // connection would be blocked again.
          spdlog::error("broker connection lost while the broker blocked publishing ({}): {}; giving up; run the same "
                        "submit again once the broker's alarm is cleared",
                        reason, e.what());
          gave_up = true;
          break;
        }
        auto now = Clock::now();
        if (!in_outage) {
          in_outage = true;
          outage_since = now;
        }
        if (now - outage_since >= options.give_up_after) {
          spdlog::error("broker unreachable for {} s while enqueueing: giving up",
                        std::chrono::duration_cast<std::chrono::seconds>(now - outage_since).count());
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
  return result;
}

std::chrono::milliseconds submit_confirm_timeout_from_env() {
  const char* raw = std::getenv("BEACON_SUBMIT_CONFIRM_TIMEOUT_S");
  if (raw == nullptr || *raw == '\0') return std::chrono::milliseconds(60000);
  const std::string_view value = raw;
  int seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 1 || seconds > 86400) {
    throw BadInput("BEACON_SUBMIT_CONFIRM_TIMEOUT_S must be an integer from 1 to 86400 (seconds), not \"" +
                   std::string(value) + "\"");
  }
  return std::chrono::seconds(seconds);
}

}  // namespace beacon::producer
