#pragma once
// Fair share inside one worker (docs/fair-share.md). The worker consumes its
// region queue and every active lane (a job's own queue) with a prefetch of
// --concurrency each, so it may hold more deliveries than it runs. The gate
// lets at most `capacity` of them run at once (preflight, inference, result
// publish) and, whenever one finishes, picks the next from the lanes by
// smooth weighted round robin: with weights 1 and 1 they alternate, with 4
// and 1 the first gets four of every five slots. With only the region queue
// consumed nothing ever waits here (the broker's prefetch already bounds it).
//
// Lanes are named by job id; the region queue is the lane "" (weight 1).
// Pure bookkeeping, no I/O: the owner loop does what it says.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <beacon/core/messages.hpp>

namespace beacon {

// A delivery that passed the cheap checks and waits for a slot.
struct GatedDelivery {
  ExecutionMessage message;
  std::uint64_t tag = 0;
  bool may_be_done = false;  // redelivered or a fresh copy: the preflight checks it
};

class LaneGate {
 public:
  explicit LaneGate(std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  // Weight 1..10 of a lane (default 1); takes effect at the next pick.
  void set_weight(const std::string& lane, int weight);
  void hold(const std::string& lane, GatedDelivery d);
  // The next delivery to run, or nothing when every slot is taken or nothing
  // waits. The returned delivery counts as running until finished(tag).
  std::optional<GatedDelivery> next();
  // A delivery left the worker (acked, requeued, rejected). Unknown tags
  // (deliveries that never waited here, e.g. dead letters) are ignored.
  void finished(std::uint64_t tag);
  // Drain: everything still waiting, in arrival order per lane; the caller
  // requeues them. Running deliveries stay counted.
  std::vector<GatedDelivery> take_waiting();
  // The connection was lost: its delivery tags are void.
  void clear();
  // The lane is no longer consumed: forget it once nothing of it waits.
  void retire(const std::string& lane);

  std::size_t running() const { return running_.size(); }
  std::size_t waiting() const;

 private:
  struct Lane {
    int weight = 1;
    long current = 0;  // smooth weighted round robin state
    std::deque<GatedDelivery> waiting;
  };
  std::size_t capacity_;
  std::map<std::string, Lane> lanes_;
  std::unordered_set<std::uint64_t> running_;
};

}  // namespace beacon
