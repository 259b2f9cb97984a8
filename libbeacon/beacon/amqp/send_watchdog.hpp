#pragma once
// A deadline for blocking socket writes that a library performs without one.
//
// rabbitmq-c 0.11 writes publishes, acks, rejects and heartbeats with an
// infinite deadline: when the broker stops reading (connection.blocked under
// a memory or disk alarm, or a peer that went silent) and the socket buffers
// fill, the owner thread sits in poll() for ever and never sees SIGTERM.
// While a Scope is alive, a helper thread watches its deadline and, when it
// passes, shuts the socket down (shutdown(2), never close: the fd stays the
// library's). The stuck write then fails at once and the owner reports a
// lost connection, instead of hanging.
//
// The helper thread touches nothing but the fd number it was given, and only
// while the Scope that gave it is alive. One owner thread arms it at a time.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace beacon::amqp {

class SendWatchdog {
 public:
  using Clock = std::chrono::steady_clock;

  SendWatchdog() = default;
  ~SendWatchdog();
  SendWatchdog(const SendWatchdog&) = delete;
  SendWatchdog& operator=(const SendWatchdog&) = delete;

  // Arms the watchdog for `fd` until `deadline`; disarms on destruction.
  class Scope {
   public:
    Scope(SendWatchdog& dog, int fd, Clock::time_point deadline);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    // True once the deadline passed and the socket was shut down: whatever
    // the guarded call returned, the connection is gone.
    bool fired() const;

   private:
    SendWatchdog& dog_;
  };

  // Times the watchdog shut a socket down (for tests and logs).
  std::uint64_t fired_count() const;

 private:
  void arm(int fd, Clock::time_point deadline);
  void disarm();
  void run();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;  // started on first use
  bool stop_ = false;
  bool armed_ = false;
  bool fired_ = false;
  int fd_ = -1;
  Clock::time_point deadline_{};
  std::uint64_t fired_count_ = 0;
};

}  // namespace beacon::amqp
