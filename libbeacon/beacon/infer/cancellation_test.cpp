#include <beacon/infer/cancellation.hpp>

#include <gtest/gtest.h>

namespace beacon::infer {
namespace {

TEST(Cancellation, RunsTheCurrentHookOnce) {
  Cancellation c;
  int runs = 0;
  {
    HookGuard guard(&c, [&] { ++runs; });
    c.cancel();
    c.cancel();
  }
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(c.cancelled());
}

TEST(Cancellation, GuardRemovesTheHook) {
  Cancellation c;
  int runs = 0;
  { HookGuard guard(&c, [&] { ++runs; }); }
  c.cancel();
  EXPECT_EQ(runs, 0);
  EXPECT_TRUE(c.cancelled());
}

TEST(Cancellation, NullIsAllowed) {
  HookGuard guard(nullptr, [] {});
}

}  // namespace
}  // namespace beacon::infer
