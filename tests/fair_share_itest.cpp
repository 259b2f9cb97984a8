// Issue 10, fair share (docs/fair-share.md), end to end: the real producer,
// worker and progress-writer with the real RabbitMQ and Postgres,
// beacon-infer-sim as the endpoint. One worker, concurrency 4, 20 ms per
// request: about 150 executions/s, so a 3,000-execution job keeps it busy
// for about 20 s.
//  * A small job submitted behind a big one gets its own lane and finishes
//    in about twice its time alone (two active jobs), while most of the big
//    job is still to do, long before the big one ends. Before lanes it
//    waited for the big job to drain.
//  * A job with priority 4 beside a job without one gets about four of every
//    five of the worker's slots.
#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string with_priority(std::string spec, int priority) {
  return spec.insert(1, "\"priority\":" + std::to_string(priority) + ",");
}

int lane_weight(const std::string& job, const std::string& region) {
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  auto r = tx.exec_params("SELECT weight FROM job_lanes WHERE job_id = $1 AND region = $2", job, region);
  return r.empty() ? 0 : r[0][0].as<int>();
}

void cancel(Fleet& f, const std::string& job) {
  auto r = f.producer({"cancel", job});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

struct Setup {
  std::string region;
};

Setup start_fleet(Fleet& f, const std::string& name) {
  f.start_sim({"--latency-ms", "20"});
  Setup s{name + "-" + unique_suffix()};
  f.write_endpoints({s.region}, R"({"max_in_flight": 4})");
  f.start_writer();
  f.start_worker(s.region, {"--concurrency", "4"});
  return s;
}

TEST(FairShare, ASmallJobBehindABigOneFinishesInAboutTwiceItsTimeAlone) {
  Fleet f("fair-small");
  const auto s = start_fleet(f, "fair-small");
  const int kSmall = 60, kBig = 2000;

  // The small job alone: the time to beat.
  const auto alone = "fair-alone-" + unique_suffix();
  auto t0 = Clock::now();
  ASSERT_EQ(f.submit(numbered_spec({s.region}, {"llama3.2-1b"}, kSmall, alone), alone).exit_code, 0);
  ASSERT_TRUE(f.wait_finished(alone, 60s)) << f.logs_tail();
  const double alone_s = seconds_since(t0);
  EXPECT_EQ(lane_weight(alone, s.region), 0) << "alone in its region: no lane";

  const auto big = "fair-big-" + unique_suffix();
  const auto big_t0 = Clock::now();
  ASSERT_EQ(f.submit(numbered_spec({s.region}, {"llama3.2-1b"}, kBig, big), big).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return f.executions(big).completed >= 200; }, 60s)) << f.logs_tail();

  const auto small = "fair-small-" + unique_suffix();
  t0 = Clock::now();
  auto sub = f.submit(numbered_spec({s.region}, {"llama3.2-1b"}, kSmall, small), small);
  ASSERT_EQ(sub.exit_code, 0) << sub.err;
  EXPECT_EQ(lane_weight(small, s.region), 1) << "submitted while another job has work: its own lane";
  ASSERT_TRUE(f.wait_finished(small, 60s)) << f.logs_tail();
  const double shared_s = seconds_since(t0);
  const double small_done_at = seconds_since(big_t0);
  const auto big_then = f.executions(big);
  const int big_left = kBig - big_then.completed;
  std::cout << "[figures] small job (" << kSmall << " executions) alone " << alone_s << " s, behind a " << kBig
            << "-execution job " << shared_s << " s (x" << shared_s / alone_s << "); the big job then had " << big_left
            << " executions left\n";

  EXPECT_GE(big_left, kBig / 2) << "the small job must not wait for the big one to drain";
  // Two active jobs: about twice the time alone, plus the second the
  // workers take to see a new lane (lane_watch.hpp).
  EXPECT_LE(shared_s, 2.5 * alone_s + 2.0) << "alone " << alone_s << " s";
  auto e = f.executions(small);
  EXPECT_EQ(e.completed, kSmall);
  EXPECT_EQ(e.distinct_keys, kSmall);

  // The small one's finish against the big one's, both from the big one's submit.
  ASSERT_TRUE(f.wait_finished(big, 120s)) << f.logs_tail();
  const double big_done_at = seconds_since(big_t0);
  std::cout << "[figures] from the big job's submit: small job done at " << small_done_at << " s, big job at "
            << big_done_at << " s\n";
  EXPECT_LT(small_done_at, big_done_at / 2);
  EXPECT_EQ(f.executions(big).completed, kBig);
}

TEST(FairShare, APriorityFourJobGetsAboutFourOfEveryFiveSlots) {
  Fleet f("fair-prio");
  const auto s = start_fleet(f, "fair-prio");
  const int kEach = 3000;
  const auto normal = "fair-normal-" + unique_suffix();
  ASSERT_EQ(f.submit(numbered_spec({s.region}, {"llama3.2-1b"}, kEach, normal), normal).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return f.executions(normal).completed >= 100; }, 60s)) << f.logs_tail();
  const auto urgent = "fair-urgent-" + unique_suffix();
  auto sub = f.submit(with_priority(numbered_spec({s.region}, {"llama3.2-1b"}, kEach, urgent), 4), urgent);
  ASSERT_EQ(sub.exit_code, 0) << sub.err;
  EXPECT_EQ(lane_weight(urgent, s.region), 4);
  // Measured once the worker consumes the lane and the shares have settled.
  ASSERT_TRUE(eventually([&] { return f.executions(urgent).completed >= 100; }, 30s)) << f.logs_tail();
  const auto n0 = f.executions(normal).completed, u0 = f.executions(urgent).completed;
  const auto t0 = Clock::now();
  ASSERT_TRUE(eventually([&] { return f.executions(urgent).completed - u0 >= 800; }, 60s)) << f.logs_tail();
  const auto dn = f.executions(normal).completed - n0, du = f.executions(urgent).completed - u0;
  std::cout << "[figures] over " << seconds_since(t0) << " s: priority 4 completed " << du << ", priority 1 " << dn
            << " (share " << static_cast<double>(du) / static_cast<double>(du + dn) << ", expected 0.8)\n";
  EXPECT_GE(du, 3 * dn) << "priority 4 must get well over three times the slots of priority 1";
  EXPECT_GE(dn, du / 10) << "and priority 1 must not starve";

  ASSERT_NO_FATAL_FAILURE(cancel(f, normal));
  ASSERT_NO_FATAL_FAILURE(cancel(f, urgent));
  ASSERT_TRUE(f.wait_finished(normal, 60s)) << f.logs_tail();
  ASSERT_TRUE(f.wait_finished(urgent, 60s)) << f.logs_tail();
}

}  // namespace
}  // namespace beacon::test
