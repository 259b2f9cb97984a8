#pragma once
// The slot table: which executions this worker is working on, and which
// deliveries wait for each. Pure: every call returns what to do (ack these
// tags, requeue that one, ask the preflight, start an inference, publish a
// cancelled event) and the owner loop does it (STYLE.md lesson 6).
//
// A slot is one execution in one submission. Several deliveries of it share
// the slot: a message redelivered after a reconnect while its inference still
// runs, or a duplicate the producer published, waits for the one inference
// instead of paying again. A delivery of the same execution from another
// submission (a re-submit while the first still runs, or a late copy of the
// first) is parked on the running slot: a completed outcome answers it too;
// any other outcome hands it to the normal path (preflight, then inference
// if still needed).
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <beacon/core/control_message.hpp>
#include <beacon/core/messages.hpp>

#include "cancel_memory.hpp"
#include "recent_outcomes.hpp"

namespace beacon {

// What the preflight said about a slot's message (see preflight.hpp).
// reused: an earlier job answered the same request (reuse_lookup.hpp); the
// event copied from that answer is published instead of paying.
enum class PreflightVerdict { run, already_completed, job_cancelled, reused };

enum class SlotPhase { preflight, inference, publishing };

// How a slot ends for the deliveries waiting on it.
enum class Settle { completed, other_outcome, requeue };

struct PreflightRequest {
  std::uint64_t tag = 0;
  ExecutionMessage message;
  bool redelivered = false;
};

struct SlotActions {
  std::vector<std::uint64_t> ack;
  std::vector<std::uint64_t> requeue;             // back to the queue (beacon's own doing: a fresh copy)
  std::vector<PreflightRequest> preflight;        // ask the database before paying
  std::vector<std::string> start_inference;       // slot ids, now in phase inference
  std::vector<std::string> publish_cancelled;     // slot ids whose `cancelled` event to publish
  std::vector<std::string> publish_reused;        // slot ids whose reused_event (completed) to publish
  std::size_t absorbed = 0;  // deliveries answered by this worker's own running or recent run
  std::size_t skipped = 0;   // deliveries acked because the database says completed
  void append(SlotActions&& other);
};

struct Slot {
  ExecutionMessage message;
  std::vector<std::uint64_t> tags;  // deliveries of the current connection waiting on it
  struct Parked {
    std::uint64_t tag = 0;
    ExecutionMessage message;
    bool redelivered = false;
  };
  std::vector<Parked> parked;
  SlotPhase phase = SlotPhase::preflight;
  std::string started_at;  // RFC 3339, set when the inference starts
  std::optional<std::int64_t> seed;  // the seed its request carries (params.seed + sample), if any
  std::optional<std::string> request_digest;  // of the request it sends (infer/request_digest.hpp)
  std::optional<ResultEvent> reused_event;     // verdict reused: the completed event copied from an earlier job
};

// One execution in one submission.
std::string slot_id(const ExecutionMessage& m);

class SlotTable {
 public:
  SlotTable(RecentOutcomes& recent, CancelMemory& cancels) : recent_(recent), cancels_(cancels) {}

  // A valid execution message of this worker's region: answered from what
  // this worker already knows, joined to a slot, parked, dropped for a
  // cancel, or sent to the preflight on a new slot.
  SlotActions dispatch(ExecutionMessage msg, std::uint64_t tag, bool redelivered);

  // The preflight's verdict on a slot's message. `aborting`: the drain
  // deadline passed, nothing new starts (the deliveries are requeued).
  // `reused`: the completed event to publish for verdict reused.
  SlotActions preflight_done(const ExecutionMessage& msg, PreflightVerdict verdict, bool aborting,
                             std::optional<ResultEvent> reused = std::nullopt);

  // Acks (an outcome is recorded) or requeues every delivery waiting on the
  // slot, then forgets it. Parked deliveries of other submissions are acked
  // only by a completed outcome; after any other they are dispatched again.
  SlotActions settle(const std::string& id, Settle how);

  // The terminal event of the slot was confirmed: remember the outcome, settle.
  SlotActions terminal_confirmed(const std::string& id, bool completed);

  // Delivery tags of a lost connection are void (the broker requeued those
  // messages). A slot still waiting for its preflight is dropped (its message
  // comes back); one whose inference runs or whose result is being published
  // stays, and the redelivered message joins it.
  void connection_lost();

  Slot* find(const std::string& id);
  void set_phase(const std::string& id, SlotPhase phase);
  std::vector<std::string> in_phase(SlotPhase phase) const;
  // Slots whose inference runs (queued or on the wire) and that `notice` cancels.
  std::vector<std::string> running_cancelled_by(const CancelNotice& notice) const;
  std::size_t size() const { return slots_.size(); }

 private:
  Slot* slot_of_execution(const ExecutionKey& key);

  RecentOutcomes& recent_;
  CancelMemory& cancels_;
  std::map<std::string, Slot> slots_;
};

}  // namespace beacon
