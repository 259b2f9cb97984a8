#include <beacon/amqp/session_loop.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include <beacon/amqp/errors.hpp>

namespace beacon::amqp {
namespace {

using std::chrono::milliseconds;

// A scripted part: each connect/serve call pops what it should do.
struct ScriptedPart {
  std::vector<std::string> log;
  std::vector<std::function<void()>> connects, serves;
  std::vector<milliseconds> waits;
  bool stop_during_wait = false;

  SessionHooks hooks() {
    SessionHooks h;
    h.connect = [this] { log.push_back("connect"); next(connects)(); };
    h.serve = [this] { log.push_back("serve"); next(serves)(); };
    h.lost = [this](const std::string& why) { log.push_back("lost:" + why); };
    h.drop_session = [this] { log.push_back("drop"); };
    h.wait_unless_stopped = [this](milliseconds w) {
      waits.push_back(w);
      return !stop_during_wait;
    };
    h.redacted_url = [] { return std::string("amqp://guest:***@127.0.0.1:5672/"); };
    h.who = "test part";
    return h;
  }
  static std::function<void()> next(std::vector<std::function<void()>>& q) {
    if (q.empty()) return [] {};
    auto f = q.front();
    q.erase(q.begin());
    return f;
  }
};

const BackoffOptions kShape{milliseconds(100), milliseconds(1000)};
auto always_top() { return [] { return 0.999999; }; }

TEST(SessionLoop, AnOutageForgetsTheSessionAndReconnectsWithGrowingWaits) {
  ScriptedPart p;
  p.connects = {[] { throw ConnectionLost("refused"); }, [] { throw ConnectionLost("refused"); }, [] {}};
  p.serves = {[] {}};
  EXPECT_EQ(run_session_loop(p.hooks(), kShape, always_top()), SessionEnd::served);
  EXPECT_EQ(p.log, (std::vector<std::string>{"connect", "lost:refused", "connect", "lost:refused", "connect",
                                               "serve"}));
  ASSERT_EQ(p.waits.size(), 2u);
  EXPECT_LT(p.waits[0], p.waits[1]) << "the backoff ceiling grows with each failure";
  EXPECT_LE(p.waits[1], milliseconds(200));
}

TEST(SessionLoop, AConnectionLostWhileServingStartsFromTheInitialWaitAgain) {
  ScriptedPart p;
  p.connects = {[] { throw ConnectionLost("down"); }, [] {}, [] {}};
  p.serves = {[] { throw ConnectionLost("heartbeat"); }, [] {}};
  EXPECT_EQ(run_session_loop(p.hooks(), kShape, always_top()), SessionEnd::served);
  ASSERT_EQ(p.waits.size(), 2u);
  EXPECT_LE(p.waits[1], milliseconds(100)) << "a session that connected resets the backoff";
}

TEST(SessionLoop, ABugDropsTheSessionBeforeForgettingIt) {
  ScriptedPart p;
  p.serves = {[] { throw std::logic_error("slot table out of step"); }, [] {}};
  EXPECT_EQ(run_session_loop(p.hooks(), kShape, always_top()), SessionEnd::served);
  EXPECT_EQ(p.log, (std::vector<std::string>{"connect", "serve", "drop", "lost:slot table out of step", "connect",
                                               "serve"}));
}

TEST(SessionLoop, AStopDuringTheWaitEndsTheLoopWithoutReconnecting) {
  ScriptedPart p;
  p.stop_during_wait = true;
  p.connects = {[] { throw ConnectionLost("refused"); }};
  EXPECT_EQ(run_session_loop(p.hooks(), kShape, always_top()), SessionEnd::stopped_while_disconnected);
  EXPECT_EQ(p.log, (std::vector<std::string>{"connect", "lost:refused"}));
}

TEST(SessionLoop, SleepUnlessReturnsEarlyOnStop) {
  int looks = 0;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(sleep_unless(milliseconds(10000), [&] { return ++looks > 2; }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(sleep_unless(milliseconds(1), [] { return false; }));
}

}  // namespace
}  // namespace beacon::amqp
