#pragma once
// Cancels whatever one asynchronous task is currently waiting on: a backoff
// timer, a place in a queue, a socket operation. Whoever starts a wait installs
// a hook that ends it; cancel() runs the hook once and remembers the fact so
// later waits end at once. Boost 1.74 has no per-operation cancellation slots,
// so this is how shutdown reaches a suspended coroutine.
// Not thread-safe: use on the strand that runs the task.
#include <functional>

namespace beacon::infer {

class Cancellation {
 public:
  void cancel();
  bool cancelled() const { return cancelled_; }
  // Installs the hook for the current wait (replacing any previous one).
  void set_hook(std::function<void()> hook) { hook_ = std::move(hook); }
  void clear_hook() { hook_ = nullptr; }

 private:
  bool cancelled_ = false;
  std::function<void()> hook_;
};

// Clears the hook when a wait ends, however it ends.
class HookGuard {
 public:
  HookGuard(Cancellation* c, std::function<void()> hook) : c_(c) {
    if (c_) c_->set_hook(std::move(hook));
  }
  ~HookGuard() {
    if (c_) c_->clear_hook();
  }
  HookGuard(const HookGuard&) = delete;
  HookGuard& operator=(const HookGuard&) = delete;

 private:
  Cancellation* c_;
};

}  // namespace beacon::infer
