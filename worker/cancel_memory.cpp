#include "cancel_memory.hpp"

#include <algorithm>

namespace beacon {

CancelMemory::CancelMemory(std::function<Clock::time_point()> now, Clock::duration keep)
    : now_(std::move(now)), keep_(keep) {}

void CancelMemory::remember(const CancelNotice& notice) {
  auto& e = jobs_[notice.job_id];
  // Notices may arrive out of order (two cancels in a row): keep the highest.
  if (notice.submission > e.submission)
    e.reason = notice.reason;
  else if (notice.submission == e.submission && notice.reason != CancelReason::cancel)
    e.reason = notice.reason;
  e.submission = std::max(e.submission, notice.submission);
  e.at = now_();
}

bool CancelMemory::cancels(const ExecutionMessage& message) {
  auto it = jobs_.find(message.key.job_id);
  if (it == jobs_.end()) return false;
  if (now_() - it->second.at >= keep_) {
    jobs_.erase(it);
    return false;
  }
  return beacon::cancels(CancelNotice{it->first, it->second.submission}, message);
}

CancelReason CancelMemory::reason(const std::string& job_id) const {
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? CancelReason::cancel : it->second.reason;
}

}  // namespace beacon
