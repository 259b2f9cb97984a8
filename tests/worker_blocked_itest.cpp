// Issue 8 item 7, worker side: while the broker blocks the connection (a
// memory alarm: connection.blocked, publishes are not read) the worker still
// honours SIGTERM within its documented bound (drain timeout + 10 s), loses
// nothing (what it could not settle returns to the queue) and the job ends
// exact once the alarm is over.
#include <csignal>
#include <cstdlib>
#include <iostream>

#include <gtest/gtest.h>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A memory alarm on the test broker for the scope of the object.
class MemoryAlarm {
 public:
  MemoryAlarm() : ctl_(require_env("BEACON_RABBITMQCTL")) { set("0.0000001"); }
  ~MemoryAlarm() { set("0.6"); }
  MemoryAlarm(const MemoryAlarm&) = delete;
  MemoryAlarm& operator=(const MemoryAlarm&) = delete;

 private:
  void set(const std::string& fraction) {
    auto r = run({ctl_, "set_vm_memory_high_watermark", fraction}, {}, std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 0) << "rabbitmqctl set_vm_memory_high_watermark " << fraction << ": " << r.out << r.err;
  }
  std::string ctl_;
};

}  // namespace

TEST(WorkerBlocked, SigtermIsHonouredWithinTheDrainBoundWhileTheBrokerBlocks) {
  Fleet f("wb-alarm");
  f.start_sim({"--latency-ms", "3000"});
  auto region = "wba-" + unique_suffix();
  f.write_endpoints({region});
  f.start_writer();
  auto& worker =
      f.start_worker(region, {"--concurrency", "4", "--drain-timeout-s", "2", "--metrics-addr", "127.0.0.1:0"});
  int port = logged_metrics_port(worker);
  ASSERT_NE(port, 0) << worker.output();
  auto job = "wb-alarm-" + unique_suffix();
  constexpr long kTotal = 8;
  auto s = f.submit(numbered_spec({region}, {"m1"}, kTotal, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(eventually([&] { return try_scrape(port, "beacon_worker_endpoint_in_flight") == 4; }, 30s))
      << f.logs_tail();
  double took = -1;
  {
    MemoryAlarm alarm;
    // The inferences end (3 s) while the broker blocks: their events cannot go out.
    ASSERT_TRUE(eventually([&] { return sim_stat(f, "completed") >= 4; }, 30s)) << f.logs_tail();
    auto t0 = Clock::now();
    worker.signal(SIGTERM);
    auto rc = worker.wait(30s);
    took = std::chrono::duration<double>(Clock::now() - t0).count();
    ASSERT_TRUE(rc.has_value()) << "worker ignored SIGTERM while the broker blocked it\n" << worker.output();
    EXPECT_EQ(*rc, 0) << worker.output();
    EXPECT_LT(took, 2 + 10) << "bound: --drain-timeout-s + 10 s";
  }
  f.start_worker(region, {"--concurrency", "4"});
  ASSERT_TRUE(f.wait_finished(job, 90s)) << f.logs_tail();
  expect_exact(f, job, kTotal, kTotal);
  std::cout << "[figures] worker SIGTERM while the broker blocks: exit after " << took << " s\n";
}

}  // namespace beacon::test
