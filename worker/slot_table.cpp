#include "slot_table.hpp"

#include <spdlog/spdlog.h>

namespace beacon {

void SlotActions::append(SlotActions&& o) {
  ack.insert(ack.end(), o.ack.begin(), o.ack.end());
  requeue.insert(requeue.end(), o.requeue.begin(), o.requeue.end());
  for (auto& p : o.preflight) preflight.push_back(std::move(p));
  for (auto& s : o.start_inference) start_inference.push_back(std::move(s));
  for (auto& s : o.publish_cancelled) publish_cancelled.push_back(std::move(s));
  for (auto& s : o.publish_reused) publish_reused.push_back(std::move(s));
  absorbed += o.absorbed;
  skipped += o.skipped;
}

std::string slot_id(const ExecutionMessage& m) { return m.key.message_id() + "#" + std::to_string(m.submission); }

SlotActions SlotTable::dispatch(ExecutionMessage msg, std::uint64_t tag, bool redelivered) {
  SlotActions a;
  if (recent_.answers(msg)) {
    // Its terminal event was confirmed by the broker already (this worker's
    // own earlier delivery): ack, pay nothing.
    spdlog::info("{}: outcome already published by this worker; acked without inference", msg.key.log_context());
    a.absorbed = 1;
    a.ack.push_back(tag);
    return a;
  }
  auto id = slot_id(msg);
  if (auto it = slots_.find(id); it != slots_.end()) {
    spdlog::info("{}: {} delivery joins the execution already running here", msg.key.log_context(),
                 redelivered ? "redelivered" : "duplicate");
    a.absorbed = 1;
    it->second.tags.push_back(tag);
    return a;
  }
  if (auto* other = slot_of_execution(msg.key)) {
    spdlog::info("{}: submission {} waits for submission {} already running here", msg.key.log_context(),
                 msg.submission, other->message.submission);
    other->parked.push_back(Slot::Parked{tag, std::move(msg), redelivered});
    return a;
  }
  Slot& slot = slots_[id];
  slot.message = std::move(msg);
  slot.tags.push_back(tag);
  if (cancels_.cancels(slot.message)) {
    slot.phase = SlotPhase::publishing;
    a.publish_cancelled.push_back(id);
    return a;
  }
  a.preflight.push_back(PreflightRequest{tag, slot.message, redelivered});
  return a;
}

SlotActions SlotTable::preflight_done(const ExecutionMessage& msg, PreflightVerdict verdict, bool aborting,
                                      std::optional<ResultEvent> reused) {
  auto id = slot_id(msg);
  auto it = slots_.find(id);
  // Its delivery died with the old connection, or the slot moved on.
  if (it == slots_.end() || it->second.phase != SlotPhase::preflight) return {};
  if (verdict == PreflightVerdict::already_completed) {
    spdlog::info("{}: already completed, acked without inference", msg.key.log_context());
    recent_.record(msg.key.message_id(), msg.submission, true);
    auto skipped = it->second.tags.size();
    auto a = settle(id, Settle::completed);
    a.skipped += skipped;
    return a;
  }
  if (aborting) return settle(id, Settle::requeue);
  if (verdict == PreflightVerdict::job_cancelled) cancels_.remember(CancelNotice{msg.key.job_id, msg.submission});
  SlotActions a;
  if (cancels_.cancels(it->second.message)) {
    it->second.phase = SlotPhase::publishing;
    a.publish_cancelled.push_back(id);
    return a;
  }
  // Copied, not paid: after the cancel check (a cancelled job gets no new
  // answers, even free ones) and the drain deadline, like an inference.
  if (verdict == PreflightVerdict::reused && reused) {
    it->second.reused_event = std::move(reused);
    it->second.phase = SlotPhase::publishing;
    a.publish_reused.push_back(id);
    return a;
  }
  it->second.phase = SlotPhase::inference;
  a.start_inference.push_back(id);
  return a;
}

SlotActions SlotTable::settle(const std::string& id, Settle how) {
  SlotActions a;
  auto it = slots_.find(id);
  if (it == slots_.end()) return a;
  // The slot goes first: no later delivery may join a finished slot.
  auto key = it->second.message.key;
  auto tags = std::move(it->second.tags);
  auto parked = std::move(it->second.parked);
  slots_.erase(it);
  for (auto tag : tags) (how == Settle::requeue ? a.requeue : a.ack).push_back(tag);
  for (auto& p : parked) {
    if (how == Settle::requeue) {
      a.requeue.push_back(p.tag);
    } else if (how == Settle::completed) {
      spdlog::info("{}: submission {} answered by the completed run of this worker", key.log_context(),
                   p.message.submission);
      ++a.absorbed;
      a.ack.push_back(p.tag);
    } else {
      a.append(dispatch(std::move(p.message), p.tag, p.redelivered));
    }
  }
  return a;
}

SlotActions SlotTable::terminal_confirmed(const std::string& id, bool completed) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return {};
  recent_.record(it->second.message.key.message_id(), it->second.message.submission, completed);
  return settle(id, completed ? Settle::completed : Settle::other_outcome);
}

void SlotTable::connection_lost() {
  for (auto it = slots_.begin(); it != slots_.end();) {
    it->second.tags.clear();
    it->second.parked.clear();
    if (it->second.phase == SlotPhase::preflight) {
      it = slots_.erase(it);
    } else {
      ++it;
    }
  }
}

Slot* SlotTable::find(const std::string& id) {
  auto it = slots_.find(id);
  return it == slots_.end() ? nullptr : &it->second;
}

void SlotTable::set_phase(const std::string& id, SlotPhase phase) {
  if (auto* s = find(id)) s->phase = phase;
}

std::vector<std::string> SlotTable::in_phase(SlotPhase phase) const {
  std::vector<std::string> out;
  for (const auto& [id, s] : slots_)
    if (s.phase == phase) out.push_back(id);
  return out;
}

std::vector<std::string> SlotTable::running_cancelled_by(const CancelNotice& notice) const {
  std::vector<std::string> out;
  for (const auto& [id, s] : slots_)
    if (s.phase == SlotPhase::inference && cancels(notice, s.message)) out.push_back(id);
  return out;
}

Slot* SlotTable::slot_of_execution(const ExecutionKey& key) {
  auto prefix = key.message_id() + "#";
  auto it = slots_.lower_bound(prefix);
  if (it == slots_.end() || it->first.compare(0, prefix.size(), prefix) != 0) return nullptr;
  return &it->second;
}

}  // namespace beacon
