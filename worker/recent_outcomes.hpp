#pragma once
// Outcomes whose terminal event the broker confirmed, by message id: a
// delivery of the same execution and submission (or of any submission, once
// completed) is acked without inference. Bounded, oldest forgotten first.
#include <cstddef>
#include <deque>
#include <string>
#include <unordered_map>

#include <beacon/core/messages.hpp>

namespace beacon {

inline constexpr std::size_t kRecentOutcomes = 100000;

class RecentOutcomes {
 public:
  explicit RecentOutcomes(std::size_t capacity = kRecentOutcomes) : capacity_(capacity) {}
  void record(const std::string& message_id, int submission, bool completed);
  bool answers(const ExecutionMessage& m) const;
  std::size_t size() const { return map_.size(); }

 private:
  struct Entry {
    int submission;
    bool completed;
  };
  std::size_t capacity_;
  std::unordered_map<std::string, Entry> map_;
  std::deque<std::string> order_;
};

}  // namespace beacon
