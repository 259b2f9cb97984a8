#include <beacon/amqp/topology.hpp>

#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>

#include <charconv>
#include <cstdlib>
#include <stdexcept>

namespace beacon::amqp {
namespace {

std::string s(std::string_view v) { return std::string(v); }

// The arguments of a queue that work may fail in: failures go to beacon.dead.
QueueArgs work_queue_args(const TopologyOptions& options) {
  QueueArgs args;
  args.durable = true;
  args.type = options.queue_type;
  args.dead_letter_exchange = s(kDeadExchange);
  args.delivery_limit = options.delivery_limit;
  args.quorum_group_size = options.quorum_group_size;
  return args;
}

// Adds the queue name to a 406 so "which queue?" needs no broker log.
void declare_queue_named(Client& client, std::string_view name, const QueueArgs& args) {
  try {
    client.declare_queue(s(name), args);
  } catch (const ChannelClosed& e) {
    if (e.reply_code() != kReplyPreconditionFailed) throw;
    throw ChannelClosed(e.channel(), e.reply_code(),
                        e.reply_text() + " (queue " + s(name) + " exists with other arguments;" +
                            " BEACON_QUEUE_TYPE and BEACON_QUORUM_GROUP_SIZE must match how it was first declared)");
  }
}

}  // namespace

std::string exec_queue(std::string_view region) { return s(kExecExchange) + "." + s(region); }

std::string lane_routing_key(std::string_view region, std::string_view job_id) {
  return s(region) + ".job." + s(job_id);
}

std::string lane_queue(std::string_view region, std::string_view job_id) {
  return s(kExecExchange) + "." + lane_routing_key(region, job_id);
}

TopologyOptions topology_options_from_env() {
  TopologyOptions options;
  if (const char* type = std::getenv("BEACON_QUEUE_TYPE"); type != nullptr && *type != '\0') {
    const std::string value = type;
    if (value != "quorum" && value != "classic") {
      throw std::invalid_argument("BEACON_QUEUE_TYPE must be quorum or classic, not \"" + value +
                                  "\"");
    }
    options.queue_type = value;
  }
  if (const char* limit = std::getenv("BEACON_DELIVERY_LIMIT");
      limit != nullptr && *limit != '\0') {
    const std::string_view value = limit;
    int parsed = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (ec != std::errc() || end != value.data() + value.size() || parsed < 0) {
      throw std::invalid_argument("BEACON_DELIVERY_LIMIT must be an integer >= 0, not \"" +
                                  std::string(value) + "\"");
    }
    options.delivery_limit = parsed;
  }
  if (const char* size = std::getenv("BEACON_QUORUM_GROUP_SIZE"); size != nullptr && *size != '\0') {
    const std::string_view value = size;
    int parsed = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    // RabbitMQ refuses groups larger than its cluster can hold only at
    // declare time; 99 keeps a typo from reaching it.
    if (ec != std::errc() || end != value.data() + value.size() || parsed < 1 || parsed > 99) {
      throw std::invalid_argument("BEACON_QUORUM_GROUP_SIZE must be an integer from 1 to 99 (replicas per quorum "
                                  "queue), or unset for the broker's default, not \"" + std::string(value) + "\"");
    }
    options.quorum_group_size = parsed;
  }
  return options;
}

void declare_core(Client& client, const TopologyOptions& options) {
  client.declare_exchange(s(kExecExchange), "direct");
  client.declare_exchange(s(kResultsExchange), "direct");
  client.declare_exchange(s(kDeadExchange), "fanout");
  client.declare_exchange(s(kControlExchange), "fanout");

  QueueArgs dead;
  dead.durable = true;
  dead.type = options.queue_type;
  dead.quorum_group_size = options.quorum_group_size;  // the evidence is replicated like the work
  declare_queue_named(client, kDeadQueue, dead);
  client.bind_queue(s(kDeadQueue), s(kDeadExchange), "");

  declare_queue_named(client, kResultsQueue, work_queue_args(options));
  client.bind_queue(s(kResultsQueue), s(kResultsExchange), s(kResultsRoutingKey));
}

void declare_region(Client& client, const std::string& region, const TopologyOptions& options) {
  if (region.empty()) throw std::invalid_argument("declare_region: empty region");
  client.declare_exchange(s(kExecExchange), "direct");
  const std::string queue = exec_queue(region);
  declare_queue_named(client, queue, work_queue_args(options));
  client.bind_queue(queue, s(kExecExchange), region);
}

void declare_lane(Client& client, const std::string& region, const std::string& job_id,
                  const TopologyOptions& options) {
  if (region.empty() || job_id.empty()) throw std::invalid_argument("declare_lane: empty region or job id");
  client.declare_exchange(s(kExecExchange), "direct");
  QueueArgs args = work_queue_args(options);
  args.expires_ms = kLaneExpiresMs;
  const std::string queue = lane_queue(region, job_id);
  declare_queue_named(client, queue, args);
  client.bind_queue(queue, s(kExecExchange), lane_routing_key(region, job_id));
}

}  // namespace beacon::amqp
