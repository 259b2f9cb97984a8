#include "confirm_ledger.hpp"

#include <spdlog/spdlog.h>

namespace beacon {

void ConfirmLedger::unsent(Publish p) {
  if (p.purpose == Publish::Purpose::terminal) orphans_.push_back(std::move(p));
}

LedgerStep ConfirmLedger::confirmed(const amqp::Confirm& c, std::uint64_t generation) {
  LedgerStep step;
  auto it = awaiting_.find(c.seq);
  if (it == awaiting_.end()) return step;
  Publish p = std::move(it->second);
  awaiting_.erase(it);
  const bool same_connection = p.generation == generation;
  if (c.ok) {
    switch (p.purpose) {
      case Publish::Purpose::started:
        return step;
      case Publish::Purpose::terminal:
        step.kind = LedgerStep::Kind::settle_slot;
        step.slot = p.slot;
        step.completed = p.completed;
        return step;
      case Publish::Purpose::dead_letter:
      case Publish::Purpose::fresh_copy:
        if (!same_connection) return step;  // the broker returned the original already
        step.kind = LedgerStep::Kind::ack_tag;
        step.tag = p.tag;
        return step;
    }
    return step;
  }
  if (p.tries < kMaxPublishTries) {
    spdlog::warn("broker refused {} ({}); publishing again", p.what, c.reason);
    ++p.tries;
    step.kind = LedgerStep::Kind::publish_again;
    step.publish = std::move(p);
    return step;
  }
  spdlog::error("broker refused {} {} times ({}); its message goes back to the queue", p.what, p.tries, c.reason);
  switch (p.purpose) {
    case Publish::Purpose::started:
      return step;
    case Publish::Purpose::terminal:
      step.kind = LedgerStep::Kind::requeue_slot;
      step.slot = p.slot;
      return step;
    case Publish::Purpose::dead_letter:
    case Publish::Purpose::fresh_copy:
      if (!same_connection) return step;
      step.kind = LedgerStep::Kind::return_tag;
      step.tag = p.tag;
      return step;
  }
  return step;
}

void ConfirmLedger::connection_lost() {
  for (auto& [seq, p] : awaiting_)
    if (p.purpose == Publish::Purpose::terminal) orphans_.push_back(std::move(p));
  awaiting_.clear();
}

std::vector<Publish> ConfirmLedger::take_orphans() {
  auto out = std::move(orphans_);
  orphans_.clear();
  return out;
}

}  // namespace beacon
