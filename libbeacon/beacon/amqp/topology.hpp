#pragma once
// beacon's fixed RabbitMQ topology (SPEC.md "Shape"), declared the same way
// by every part on every (re)connect:
//
//   exchange beacon.exec    (direct, key = region) -> queue beacon.exec.<region>
//                           (key <region>.job.<job>) -> queue beacon.exec.<region>.job.<job>
//                                                       (a job's lane: fair share, docs/fair-share.md)
//   exchange beacon.results (direct, key "result") -> queue beacon.results
//   exchange beacon.dead    (fanout)               -> queue beacon.dead
//   exchange beacon.control (fanout)               -> one temp queue per listener
//
// All durable. Work queues dead-letter to beacon.dead and, when quorum, carry
// x-delivery-limit so a message that keeps failing ends there instead of
// looping forever.
#include <cstdint>
#include <string>
#include <string_view>

namespace beacon::amqp {

class Client;

inline constexpr std::string_view kExecExchange = "beacon.exec";
inline constexpr std::string_view kResultsExchange = "beacon.results";
inline constexpr std::string_view kResultsRoutingKey = "result";
inline constexpr std::string_view kResultsQueue = "beacon.results";
inline constexpr std::string_view kDeadExchange = "beacon.dead";
inline constexpr std::string_view kDeadQueue = "beacon.dead";
inline constexpr std::string_view kControlExchange = "beacon.control";

// Headers beacon sets on a message it dead-letters itself (bad input):
// why, and which queue it was taken from.
inline constexpr std::string_view kReasonHeader = "x-beacon-reason";
inline constexpr std::string_view kSourceQueueHeader = "x-beacon-source-queue";

// "beacon.exec.<region>".
std::string exec_queue(std::string_view region);

// Fair share (docs/fair-share.md): a job submitted while another job has work
// in the region, or one with a priority, gets its own queue there, its lane,
// which every worker of the region consumes beside the region queue.
// "beacon.exec.<region>.job.<job_id>", bound to beacon.exec with key
// "<region>.job.<job_id>".
std::string lane_queue(std::string_view region, std::string_view job_id);
std::string lane_routing_key(std::string_view region, std::string_view job_id);
// A lane nobody consumes (its job has no work left in the region) is deleted
// by the broker after this long (24 h). A lane with work left is consumed by
// every live worker of its region, so only a region without any worker for
// that long loses its queued messages; a re-submit publishes them again.
inline constexpr std::int64_t kLaneExpiresMs = 24LL * 60 * 60 * 1000;

struct TopologyOptions {
  std::string queue_type = "quorum";  // "quorum" | "classic" (single-node dev broker)
  int delivery_limit = 5;             // quorum only; 0 = no limit
  // x-quorum-initial-group-size of every quorum queue beacon declares: how
  // many cluster nodes hold a replica. 0 = unset: the broker's default, a
  // replica on every cluster node (up to its own limit). Applies only when a
  // queue is first created; later declares must send the same value.
  int quorum_group_size = 0;
};

// From BEACON_QUEUE_TYPE (quorum|classic), BEACON_DELIVERY_LIMIT (integer
// >= 0) and BEACON_QUORUM_GROUP_SIZE (integer 1..99, or empty for unset);
// unset variables keep the defaults. Throws std::invalid_argument on any
// other value, naming the variable.
TopologyOptions topology_options_from_env();

// Exchanges beacon.exec, beacon.results, beacon.dead, beacon.control and
// queues beacon.results, beacon.dead with their bindings. Idempotent. A queue
// that already exists with other arguments (say classic vs quorum) makes the
// broker refuse: ChannelClosed 406, which names the queue.
//
// beacon.dead gets the queue type but no delivery limit and no dead-letter
// exchange: it is the end of the line, and a limit there would silently drop
// the evidence.
void declare_core(Client& client, const TopologyOptions& options);

// Queue beacon.exec.<region> bound to beacon.exec with key <region>.
// Declares beacon.exec first, so it also works before declare_core.
void declare_region(Client& client, const std::string& region, const TopologyOptions& options);

// The lane of `job_id` in `region`: the region queue's arguments plus
// x-expires (kLaneExpiresMs), bound to beacon.exec. Idempotent.
void declare_lane(Client& client, const std::string& region, const std::string& job_id,
                  const TopologyOptions& options);

}  // namespace beacon::amqp
