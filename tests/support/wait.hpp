#pragma once
// Bounded waits on a condition, never bare sleeps as synchronisation: poll
// the condition until it holds or the deadline passes, then fail with a
// message that says what was awaited and what was last seen.
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace beacon::test {

// Returns true when `ready` held before `timeout`.
inline bool eventually(const std::function<bool()>& ready, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds every = std::chrono::milliseconds(50)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

}  // namespace beacon::test
