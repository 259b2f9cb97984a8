#pragma once
// The worker's consumers on its region's lanes (docs/fair-share.md): which
// lane queues it consumes on the current connection, and which queue and lane
// each consumer tag stands for (a requeue goes back to the queue its delivery
// came from; the lane gate serves deliveries by lane).
//
// Owner thread only. reconcile() talks to the broker (queue.declare and
// basic.consume wait for their replies), so the owner calls it only while
// connected, not draining and not blocked by a resource alarm.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <beacon/amqp/topology.hpp>

#include "lane_watch.hpp"

namespace beacon::amqp {
class Client;
}

namespace beacon {

class LaneConsumers {
 public:
  // A lane's prefetch is twice the worker's concurrency: a lane must have a
  // delivery waiting in the gate when one of its own slots frees up, or that
  // slot goes to another lane and weights stop mattering (with a prefetch of
  // one concurrency, priority 4 beside priority 1 got half the slots, not 0.8).
  LaneConsumers(amqp::Client& client, std::string region, int concurrency)
      : client_(client), region_(std::move(region)), prefetch_(static_cast<std::uint16_t>(
                                                           std::min(2 * std::max(concurrency, 1), 65535))) {}

  // What the lane watch says is active now.
  void want(std::vector<ActiveLane> lanes);
  const std::vector<ActiveLane>& wanted() const { return wanted_; }
  // Something to do for reconcile().
  bool out_of_date() const { return dirty_; }
  // Declares and consumes the wanted lanes not consumed yet (a lane that
  // expired is declared again, empty) and cancels those no longer wanted.
  // Returns the job ids whose lanes stopped being consumed. Throws
  // amqp::AmqpError like any broker call; what is left stays out of date.
  std::vector<std::string> reconcile(const amqp::TopologyOptions& topology);
  // Drain: no new deliveries from any lane (basic.cancel, nowait).
  void cancel_all();
  // The consumer tags died with the connection; the next reconcile consumes
  // every wanted lane again.
  void connection_lost();

  // The lane (job id) of a delivery's consumer; "" for the region queue.
  std::string lane_of(const std::string& consumer_tag) const;
  // The queue a delivery's consumer reads; `fallback` (the region queue) when not a lane.
  std::string queue_of(const std::string& consumer_tag, const std::string& fallback) const;
  std::size_t consumed() const { return tag_by_job_.size(); }

 private:
  struct Consumer {
    std::string job_id, queue;
  };
  amqp::Client& client_;
  std::string region_;
  std::uint16_t prefetch_;
  std::vector<ActiveLane> wanted_;
  bool dirty_ = false;
  std::map<std::string, std::string> tag_by_job_;  // lanes consumed now
  // Every lane consumer tag of this connection, cancelled ones too: their
  // deliveries may still be held.
  std::map<std::string, Consumer> by_tag_;
};

}  // namespace beacon
