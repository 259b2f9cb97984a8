#include <beacon/amqp/send_watchdog.hpp>

#include <sys/socket.h>

namespace beacon::amqp {

SendWatchdog::~SendWatchdog() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SendWatchdog::Scope::Scope(SendWatchdog& dog, int fd, Clock::time_point deadline) : dog_(dog) {
  dog_.arm(fd, deadline);
}

SendWatchdog::Scope::~Scope() { dog_.disarm(); }

bool SendWatchdog::Scope::fired() const {
  std::lock_guard lock(dog_.mutex_);
  return dog_.fired_;
}

std::uint64_t SendWatchdog::fired_count() const {
  std::lock_guard lock(mutex_);
  return fired_count_;
}

void SendWatchdog::arm(int fd, Clock::time_point deadline) {
  {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    armed_ = true;
    fired_ = false;
    fd_ = fd;
    deadline_ = deadline;
  }
  // The helper may be asleep until an earlier deadline (or for ever): it
  // re-reads the deadline on every wake-up, so one notify per arm is enough.
  wake_.notify_one();
}

void SendWatchdog::disarm() {
  std::lock_guard lock(mutex_);
  armed_ = false;
  fd_ = -1;
  // No notify: a helper sleeping until the old deadline wakes, finds
  // nothing armed and goes back to sleep.
}

void SendWatchdog::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (!armed_ || fired_) {
      wake_.wait(lock);
      continue;
    }
    if (Clock::now() < deadline_) {
      wake_.wait_until(lock, deadline_);
      continue;
    }
    // Under the lock: the owner cannot disarm (and its fd cannot be closed
    // and reused) between the check and the shutdown.
    ::shutdown(fd_, SHUT_RDWR);
    fired_ = true;
    ++fired_count_;
  }
}

}  // namespace beacon::amqp
