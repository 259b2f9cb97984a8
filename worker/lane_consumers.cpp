#include "lane_consumers.hpp"

#include <set>

#include <spdlog/spdlog.h>

#include <beacon/amqp/client.hpp>

namespace beacon {

void LaneConsumers::want(std::vector<ActiveLane> lanes) {
  wanted_ = std::move(lanes);
  dirty_ = true;
}

std::vector<std::string> LaneConsumers::reconcile(const amqp::TopologyOptions& topology) {
  std::set<std::string> wanted_jobs;
  for (const auto& lane : wanted_) wanted_jobs.insert(lane.job_id);
  std::vector<std::string> stopped;
  for (auto it = tag_by_job_.begin(); it != tag_by_job_.end();) {
    if (wanted_jobs.count(it->first)) {
      ++it;
      continue;
    }
    client_.cancel(it->second);
    spdlog::info("lane {}: job {} has no work left in region {}; no longer consumed",
                 amqp::lane_queue(region_, it->first), it->first, region_);
    stopped.push_back(it->first);
    it = tag_by_job_.erase(it);
  }
  for (const auto& lane : wanted_) {
    if (tag_by_job_.count(lane.job_id)) continue;
    amqp::declare_lane(client_, region_, lane.job_id, topology);
    const std::string queue = amqp::lane_queue(region_, lane.job_id);
    client_.set_prefetch(prefetch_);  // only lanes consume after the connect: the region queue keeps its own
    const std::string tag = client_.consume(queue);
    tag_by_job_[lane.job_id] = tag;
    by_tag_[tag] = Consumer{lane.job_id, queue};
    spdlog::info("lane {}: consuming job {} (weight {}) beside {}", queue, lane.job_id, lane.weight,
                 amqp::exec_queue(region_));
  }
  dirty_ = false;
  return stopped;
}

void LaneConsumers::cancel_all() {
  for (const auto& [job, tag] : tag_by_job_) client_.cancel(tag);
  tag_by_job_.clear();
}

void LaneConsumers::connection_lost() {
  tag_by_job_.clear();
  by_tag_.clear();
  dirty_ = !wanted_.empty();
}

std::string LaneConsumers::lane_of(const std::string& consumer_tag) const {
  auto it = by_tag_.find(consumer_tag);
  return it == by_tag_.end() ? std::string() : it->second.job_id;
}

std::string LaneConsumers::queue_of(const std::string& consumer_tag, const std::string& fallback) const {
  auto it = by_tag_.find(consumer_tag);
  return it == by_tag_.end() ? fallback : it->second.queue;
}

}  // namespace beacon
