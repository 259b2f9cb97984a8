#include <beacon/amqp/send_watchdog.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <gtest/gtest.h>

namespace beacon::amqp {
namespace {

using namespace std::chrono_literals;
using Clock = SendWatchdog::Clock;

struct SocketPair {
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
  ~SocketPair() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  int fds[2] = {-1, -1};
};

// Writes until the peer's buffers are full and a blocking write would wait
// for ever (the peer never reads), as a blocked broker makes rabbitmq-c do.
TEST(SendWatchdog, EndsAWriteThatWouldBlockForEverAtTheDeadline) {
  SocketPair p;
  SendWatchdog dog;
  const std::string chunk(64 * 1024, 'x');
  const auto t0 = Clock::now();
  ssize_t rc = 0;
  {
    SendWatchdog::Scope scope(dog, p.fds[0], t0 + 200ms);
    while ((rc = ::send(p.fds[0], chunk.data(), chunk.size(), MSG_NOSIGNAL)) > 0) {
    }
    EXPECT_TRUE(scope.fired());
  }
  EXPECT_LT(rc, 0);
  EXPECT_EQ(errno, EPIPE);
  const auto took = Clock::now() - t0;
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ(dog.fired_count(), 1u);
}

TEST(SendWatchdog, LeavesASocketAloneWhenTheCallEndsInTime) {
  SocketPair p;
  SendWatchdog dog;
  for (int i = 0; i < 1000; ++i) {
    SendWatchdog::Scope scope(dog, p.fds[0], Clock::now() + 50ms);
    ASSERT_EQ(::send(p.fds[0], "x", 1, MSG_NOSIGNAL), 1);
    char c;
    ASSERT_EQ(::recv(p.fds[1], &c, 1, 0), 1);
    EXPECT_FALSE(scope.fired());
  }
  {
    // A deadline that passes after the scope ended changes nothing.
    SendWatchdog::Scope scope(dog, p.fds[0], Clock::now() + 20ms);
  }
  std::this_thread::sleep_for(60ms);  // let the old deadline pass: nothing may fire
  EXPECT_EQ(::send(p.fds[0], "y", 1, MSG_NOSIGNAL), 1);
  EXPECT_EQ(dog.fired_count(), 0u);
}

TEST(SendWatchdog, AnEarlierDeadlineWakesTheHelper) {
  SocketPair p;
  SendWatchdog dog;
  { SendWatchdog::Scope far(dog, p.fds[0], Clock::now() + 1h); }
  const std::string chunk(64 * 1024, 'x');
  const auto t0 = Clock::now();
  SendWatchdog::Scope scope(dog, p.fds[0], t0 + 100ms);
  while (::send(p.fds[0], chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0) {
  }
  EXPECT_TRUE(scope.fired());
  EXPECT_LT(Clock::now() - t0, 5s);
}

}  // namespace
}  // namespace beacon::amqp
