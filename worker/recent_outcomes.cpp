#include "recent_outcomes.hpp"

#include <algorithm>

namespace beacon {

void RecentOutcomes::record(const std::string& id, int submission, bool completed) {
  auto [it, fresh] = map_.try_emplace(id, Entry{submission, completed});
  if (!fresh) {
    it->second.submission = std::max(it->second.submission, submission);
    it->second.completed = it->second.completed || completed;
    return;
  }
  order_.push_back(id);
  if (order_.size() > capacity_) {
    map_.erase(order_.front());
    order_.pop_front();
  }
}

bool RecentOutcomes::answers(const ExecutionMessage& m) const {
  auto it = map_.find(m.key.message_id());
  return it != map_.end() && (it->second.completed || m.submission <= it->second.submission);
}

}  // namespace beacon
