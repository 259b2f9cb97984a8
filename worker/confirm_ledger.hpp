#pragma once
// The confirm ledger: every publish of the worker waiting for the broker's
// confirm, and what its confirm means. It is the one place that decides an
// ack (SPEC invariant 3): a delivery is acked only after the broker confirmed
// its terminal event, its dead letter, or its fresh copy (a requeue of
// beacon's own doing, SPEC decisions D2). Pure: it answers what to do; the
// owner loop does it.
//
//  * A refused publish (nack, or returned unroutable) is published again, up
//    to kMaxPublishTries times; then a terminal event's slot is requeued and
//    a dead letter's or copy's original delivery is handed back to the broker.
//  * A terminal event whose confirm a lost connection took (or whose publish
//    failed with the connection) is an orphan: it goes out again on the next
//    connection, and the redelivered message joins its slot, so it is acked
//    once that publish is confirmed. A lost `started` is harmless (the worker
//    publishes `started` again for running slots after a reconnect); a lost
//    dead letter or copy is written again when its message comes back.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <beacon/amqp/confirm_tracker.hpp>
#include <beacon/amqp/headers.hpp>

namespace beacon {

inline constexpr int kMaxPublishTries = 5;

struct Publish {
  enum class Purpose { started, terminal, dead_letter, fresh_copy };
  Purpose purpose = Purpose::started;
  std::string slot;              // terminal: whose deliveries are settled on confirm
  bool completed = false;        // terminal: the outcome is `completed`
  std::uint64_t generation = 0;  // dead_letter, fresh_copy: connection the original's tag belongs to
  std::uint64_t tag = 0;         // dead_letter, fresh_copy: the original delivery, acked on confirm
  std::string exchange, routing_key, body, message_id, content_type = "application/json";
  amqp::Headers headers;
  bool mandatory = true;
  int tries = 1;
  std::string what;  // for logs
};

// What the owner does after a confirm.
struct LedgerStep {
  enum class Kind {
    nothing,
    settle_slot,      // terminal confirmed: settle `slot` (completed or other outcome)
    ack_tag,          // dead letter / fresh copy confirmed: ack the original
    publish_again,    // refused, tries left: publish `publish` again
    requeue_slot,     // terminal refused for good: requeue the slot's deliveries
    return_tag,       // dead letter / copy refused for good: reject(requeue) the original
  };
  Kind kind = Kind::nothing;
  std::string slot;
  bool completed = false;
  std::uint64_t tag = 0;
  Publish publish;  // publish_again
};

class ConfirmLedger {
 public:
  void sent(std::uint64_t seq, Publish p) { awaiting_.emplace(seq, std::move(p)); }
  // The connection went during the publish itself.
  void unsent(Publish p);
  // `generation`: the connection now open (a tag of an older one is void).
  LedgerStep confirmed(const amqp::Confirm& c, std::uint64_t generation);
  // The exchange the publish with confirm number `seq` went to ("" when unknown).
  std::string exchange_of(std::uint64_t seq) const {
    auto it = awaiting_.find(seq);
    return it == awaiting_.end() ? std::string() : it->second.exchange;
  }
  void connection_lost();
  std::vector<Publish> take_orphans();
  std::size_t awaiting() const { return awaiting_.size(); }
  std::size_t orphans() const { return orphans_.size(); }
  bool empty() const { return awaiting_.empty(); }

 private:
  std::map<std::uint64_t, Publish> awaiting_;
  std::vector<Publish> orphans_;
};

}  // namespace beacon
