#pragma once
// When to give up on a channel whose publishes the broker keeps refusing.
// Seen on a RabbitMQ 3.10 cluster: a channel opened while the leader of
// beacon.results was just lost stays bound to that dead leader and has every
// publish to it nacked, for minutes, while the same channel's publishes to
// other queues are confirmed. A new connection (the next node) gets a fresh
// channel. The streak is therefore counted per destination exchange: in CI
// (stop 16) a worker's result events were nacked five times each, then its
// fresh copies to the region queue (default exchange) were confirmed, and one
// counter for all publishes was reset by those and never reached the limit:
// the job never finished.
#include <map>
#include <string>

namespace beacon {

class RefusalStreaks {
 public:
  explicit RefusalStreaks(int limit) : limit_(limit) {}
  // A confirm of a publish to `exchange`. True when that destination has
  // now refused `limit` publishes in a row: reconnect (every streak restarts).
  bool note(const std::string& exchange, bool ok) {
    int& streak = by_exchange_[exchange];
    streak = ok ? 0 : streak + 1;
    if (streak < limit_) return false;
    by_exchange_.clear();
    return true;
  }
  int limit() const { return limit_; }

 private:
  int limit_;
  std::map<std::string, int> by_exchange_;
};

}  // namespace beacon
