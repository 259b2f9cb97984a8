#include <beacon/amqp/confirm_tracker.hpp>

#include <utility>

namespace beacon::amqp {

std::uint64_t ConfirmTracker::on_publish() {
  const std::uint64_t seq = next_seq_++;
  pending_.emplace(seq, Pending{});
  return seq;
}

void ConfirmTracker::on_return(std::uint64_t seq, std::string reason) {
  auto it = pending_.find(seq);
  if (it == pending_.end()) return;
  it->second.returned = true;
  it->second.reason = std::move(reason);
}

void ConfirmTracker::on_ack(std::uint64_t tag, bool multiple) { resolve(tag, multiple, true); }

void ConfirmTracker::on_nack(std::uint64_t tag, bool multiple) { resolve(tag, multiple, false); }

void ConfirmTracker::resolve(std::uint64_t tag, bool multiple, bool acked) {
  auto settle = [&](std::map<std::uint64_t, Pending>::iterator it) {
    Confirm c;
    c.seq = it->first;
    if (!acked) {
      c.reason = "nack";
    } else if (it->second.returned) {
      c.reason = it->second.reason.empty() ? "returned" : std::move(it->second.reason);
    } else {
      c.ok = true;
    }
    resolved_.push_back(std::move(c));
    return pending_.erase(it);
  };
  if (multiple) {
    // Everything outstanding up to and including tag.
    for (auto it = pending_.begin(); it != pending_.end() && it->first <= tag;) it = settle(it);
  } else if (auto it = pending_.find(tag); it != pending_.end()) {
    settle(it);
  }
}

std::vector<Confirm> ConfirmTracker::take() { return std::exchange(resolved_, {}); }

void ConfirmTracker::reset() {
  next_seq_ = 1;
  pending_.clear();
  resolved_.clear();
}

}  // namespace beacon::amqp
