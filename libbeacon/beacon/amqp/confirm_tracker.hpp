#pragma once
// Bookkeeping of publisher confirms on one channel in confirm mode. Pure
// logic, no I/O: the Client feeds it what it publishes and the basic.ack /
// basic.nack / basic.return frames it reads.
//
// The guarantee it implements: a publish is confirmed (ok) only when the
// broker acked it; a nack is a failure; a message the broker returned
// (mandatory and unroutable) is a failure even though the broker acks it
// afterwards (AMQP sends basic.return before the basic.ack of that message).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace beacon::amqp {

struct Confirm {
  std::uint64_t seq = 0;  // what Client::publish returned
  bool ok = false;
  std::string reason;     // empty when ok; "nack" or "returned: NO_ROUTE"
};

class ConfirmTracker {
 public:
  // Registers the next publish and returns its sequence number. Numbering
  // follows the broker's: 1 for the first publish after confirm.select.
  std::uint64_t on_publish();
  // The broker returned the message published as `seq`; its coming ack
  // resolves it as failed with `reason`. Unknown seqs are ignored.
  void on_return(std::uint64_t seq, std::string reason);
  // basic.ack / basic.nack: `multiple` covers every outstanding seq <= tag.
  void on_ack(std::uint64_t tag, bool multiple);
  void on_nack(std::uint64_t tag, bool multiple);

  // Published and not yet resolved.
  std::size_t unconfirmed() const { return pending_.size(); }
  // The sequence number the next on_publish() will return.
  std::uint64_t next_seq() const { return next_seq_; }
  // Resolved since the last call, in sequence order per ack frame.
  std::vector<Confirm> take();
  bool has_resolved() const { return !resolved_.empty(); }
  // A new channel: numbering restarts at 1 and everything is forgotten.
  void reset();

 private:
  struct Pending {
    bool returned = false;
    std::string reason;
  };
  void resolve(std::uint64_t tag, bool multiple, bool acked);

  std::uint64_t next_seq_ = 1;
  std::map<std::uint64_t, Pending> pending_;
  std::vector<Confirm> resolved_;
};

}  // namespace beacon::amqp
