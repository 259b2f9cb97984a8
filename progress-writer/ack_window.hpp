#pragma once
// Which ack frames settle a set of deliveries (issue 9: one ack per event cost
// the broker a Raft command per event on quorum queues). The writer tells the
// window every delivery tag it receives; when a batch committed it asks for the
// frames that ack exactly that batch's tags: one `multiple` ack for the run of
// the oldest unacked tags that are all in the set, single acks for the rest.
// A tag this writer still holds for another reason (a dead letter waiting for
// its confirm, an event of the batch being accumulated) is never covered by a
// multiple ack: SPEC invariant 3 holds frame by frame.
#include <cstdint>
#include <set>
#include <vector>

namespace beacon::writer {

struct AckFrame {
  std::uint64_t tag = 0;
  bool multiple = false;
  bool operator==(const AckFrame&) const = default;
};

class AckWindow {
 public:
  void received(std::uint64_t tag) { unacked_.insert(tag); }
  // The frames that ack `tags` (any order; each tag at most once) and
  // nothing else; the tags are then no longer outstanding. A tag the window
  // never received is acked on its own (as the writer did before the window).
  std::vector<AckFrame> acks_for(std::vector<std::uint64_t> tags);
  // The connection is gone: its tags are void.
  void forget_all() { unacked_.clear(); }
  std::size_t outstanding() const { return unacked_.size(); }

 private:
  std::set<std::uint64_t> unacked_;
};

}  // namespace beacon::writer
