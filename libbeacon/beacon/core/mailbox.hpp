#pragma once
// A thread-safe FIFO through which helper threads (inference on Asio, the
// database checker) hand results back to the thread that owns the AMQP
// connection. That owner never blocks on it: it drains with try_take_all().
#include <deque>
#include <mutex>
#include <vector>

namespace beacon {

template <typename T>
class Mailbox {
 public:
  void put(T item) {
    std::lock_guard lock(mutex_);
    items_.push_back(std::move(item));
  }
  std::vector<T> try_take_all() {
    std::lock_guard lock(mutex_);
    std::vector<T> out(std::make_move_iterator(items_.begin()), std::make_move_iterator(items_.end()));
    items_.clear();
    return out;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::deque<T> items_;
};

}  // namespace beacon
