#include "lane_gate.hpp"

#include <algorithm>

namespace beacon {

void LaneGate::set_weight(const std::string& lane, int weight) {
  lanes_[lane].weight = std::clamp(weight, 1, 10);
}

void LaneGate::hold(const std::string& lane, GatedDelivery d) { lanes_[lane].waiting.push_back(std::move(d)); }

std::optional<GatedDelivery> LaneGate::next() {
  if (running_.size() >= capacity_) return std::nullopt;
  // Smooth weighted round robin (as nginx balances upstreams): every lane
  // with work gains its weight, the richest is served and pays the sum.
  Lane* best = nullptr;
  long total = 0;
  for (auto& [name, lane] : lanes_) {
    if (lane.waiting.empty()) continue;
    lane.current += lane.weight;
    total += lane.weight;
    if (!best || lane.current > best->current) best = &lane;
  }
  if (!best) return std::nullopt;
  best->current -= total;
  GatedDelivery d = std::move(best->waiting.front());
  best->waiting.pop_front();
  running_.insert(d.tag);
  // A lane that ran dry forgets its credit, so a job that comes back after a
  // pause does not get a burst ahead of the others.
  for (auto& [name, lane] : lanes_) {
    if (lane.waiting.empty()) lane.current = 0;
  }
  return d;
}

void LaneGate::finished(std::uint64_t tag) { running_.erase(tag); }

std::vector<GatedDelivery> LaneGate::take_waiting() {
  std::vector<GatedDelivery> out;
  for (auto& [name, lane] : lanes_) {
    for (auto& d : lane.waiting) out.push_back(std::move(d));
    lane.waiting.clear();
    lane.current = 0;
  }
  return out;
}

void LaneGate::clear() {
  take_waiting();
  running_.clear();
}

void LaneGate::retire(const std::string& lane) {
  auto it = lanes_.find(lane);
  if (it != lanes_.end() && it->second.waiting.empty()) lanes_.erase(it);
}

std::size_t LaneGate::waiting() const {
  std::size_t n = 0;
  for (const auto& [name, lane] : lanes_) n += lane.waiting.size();
  return n;
}

}  // namespace beacon
