// Fair share, the submit side (docs/fair-share.md): where `beacon-producer
// submit` publishes a job's messages. A job alone in a region without a
// priority uses the region queue as before; a job submitted while another
// has work there, or one with a priority, gets its own queue there (its lane)
// and a job_lanes row of its weight, committed before its first message. The
// real producer against the real RabbitMQ and Postgres; no worker runs, so
// every published message stays where it landed.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <beacon/amqp/topology.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

// The spec with "priority": <value> added (value as JSON text).
std::string with_priority(const std::string& spec, const std::string& value) {
  return spec.substr(0, spec.rfind('}')) + ",\"priority\":" + value + "}";
}

// job_lanes.weight of (job, region); nullopt without a row.
std::optional<int> lane_weight(const std::string& job, const std::string& region) {
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  auto r = tx.exec_params("SELECT weight FROM job_lanes WHERE job_id = $1 AND region = $2", job, region);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<int>();
}

long count_rows(const std::string& sql, const std::string& job) {
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  return tx.exec_params1(sql, job)[0].as<long>();
}

// Waits until `queue` holds exactly `depth` ready messages (a quorum queue's
// count may trail the confirms a little); says what it last saw.
::testing::AssertionResult holds(const std::string& queue, long depth) {
  long seen = -2;
  if (eventually([&] { return (seen = queue_depth(queue)) == depth; }, 10s)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << queue << " holds " << seen << " messages, not " << depth
                                       << " (-1: no such queue)";
}

// The lanes a test made: Fleet deletes only region queues.
struct LaneCleanup {
  std::vector<std::string> queues;
  ~LaneCleanup() {
    for (const auto& q : queues) {
      try {
        delete_queue(q);
      } catch (const std::exception& e) {
        std::cerr << "could not delete " << q << ": " << e.what() << "\n";
      }
    }
  }
};

}  // namespace

// A alone: the region queue, no lane, no job_lanes row. B behind A (A's 3
// executions pending): all of B in B's lane, the region queue unchanged,
// weight 1, and the log says why.
TEST(Lanes, AJobAloneUsesTheRegionQueueAndOneSubmittedBehindItGetsItsOwnLane) {
  Fleet f("lanes-behind");
  ScopedEnv info("BEACON_PRODUCER_LOG_LEVEL", "info");  // the lane decision is logged at info
  const auto suffix = unique_suffix();
  const auto region = "lane-r-" + suffix;
  const auto a = "lanes-a-" + suffix, b = "lanes-b-" + suffix;
  LaneCleanup cleanup{{amqp::lane_queue(region, a), amqp::lane_queue(region, b)}};

  auto sa = f.submit(numbered_spec({region}, {"m"}, 3, a), a);
  ASSERT_EQ(sa.exit_code, 0) << sa.err;
  EXPECT_EQ(sa.enqueued, 3);
  EXPECT_TRUE(holds(amqp::exec_queue(region), 3));
  EXPECT_EQ(queue_depth(amqp::lane_queue(region, a)), -1) << "a job alone gets no lane";
  EXPECT_EQ(lane_weight(a, region), std::nullopt);
  EXPECT_EQ(sa.err.find("own lane"), std::string::npos) << sa.err;

  auto sb = f.submit(numbered_spec({region}, {"m"}, 5, b), b);
  ASSERT_EQ(sb.exit_code, 0) << sb.err;
  EXPECT_EQ(sb.total, 5);
  EXPECT_EQ(sb.enqueued, 5);
  EXPECT_TRUE(holds(amqp::lane_queue(region, b), 5));
  EXPECT_TRUE(holds(amqp::exec_queue(region), 3)) << "nothing of B in the region queue";
  EXPECT_EQ(lane_weight(b, region), 1);
  EXPECT_NE(sb.err.find("job " + b + " region " + region + ": own lane (another job has work here)"), std::string::npos)
      << sb.err;
}

// C with priority 4, alone in a fresh region: its lane, weight 4. The same
// spec with priority 2 is a re-submit, not a different job: accepted, the
// weight becomes 2, and the executions go to the lane again.
TEST(Lanes, APriorityGivesALaneOfThatWeightAndAReSubmitChangesIt) {
  Fleet f("lanes-priority");
  ScopedEnv info("BEACON_PRODUCER_LOG_LEVEL", "info");  // the lane decision is logged at info
  const auto suffix = unique_suffix();
  const auto region = "lane-p-" + suffix;
  const auto c = "lanes-c-" + suffix;
  LaneCleanup cleanup{{amqp::lane_queue(region, c)}};
  const auto spec = numbered_spec({region}, {"m1", "m2"}, 2, c);

  auto first = f.submit(with_priority(spec, "4"), c);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.total, 4);
  EXPECT_TRUE(holds(amqp::lane_queue(region, c), 4));
  EXPECT_TRUE(holds(amqp::exec_queue(region), 0)) << "the region queue is declared, and empty";
  EXPECT_EQ(lane_weight(c, region), 4);
  EXPECT_NE(first.err.find("own lane (priority 4)"), std::string::npos) << first.err;

  auto again = f.submit(with_priority(spec, "2"), c);
  ASSERT_EQ(again.exit_code, 0) << "a new priority is not a different spec: " << again.err;
  EXPECT_EQ(again.enqueued, 4) << "none completed: all enqueued again";
  EXPECT_EQ(lane_weight(c, region), 2);
  EXPECT_TRUE(holds(amqp::lane_queue(region, c), 8)) << "the re-submit publishes to the lane too";
  EXPECT_TRUE(holds(amqp::exec_queue(region), 0));
  EXPECT_EQ(count_rows("SELECT count(*) FROM job_lanes WHERE job_id = $1", c), 1);

  // Without a priority the lane is kept (its messages are there), weight 1.
  auto plain = f.submit(spec, c);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(lane_weight(c, region), 1);
  EXPECT_TRUE(holds(amqp::lane_queue(region, c), 12));
  EXPECT_NE(plain.err.find("own lane (kept from an earlier submit)"), std::string::npos) << plain.err;
}

// A bad priority is a spec error (exit 2) that names the field, before
// anything is written: no job row, no lane row, no queue; on a re-submit the
// weight stays.
TEST(Lanes, ABadPriorityIsRefusedBeforeAnythingIsWritten) {
  Fleet f("lanes-bad");
  const auto suffix = unique_suffix();
  const auto region = "lane-x-" + suffix;
  const auto d = "lanes-d-" + suffix;
  LaneCleanup cleanup{{amqp::lane_queue(region, d)}};
  const auto spec = numbered_spec({region}, {"m"}, 1, d);

  for (const char* bad : {"0", "11", "2.5", "\"high\""}) {
    auto s = f.submit(with_priority(spec, bad), d);
    EXPECT_EQ(s.exit_code, 2) << bad << ": " << s.err;
    EXPECT_NE(s.err.find("priority"), std::string::npos) << s.err;
  }
  EXPECT_EQ(count_rows("SELECT count(*) FROM jobs WHERE job_id = $1", d), 0);
  EXPECT_EQ(count_rows("SELECT count(*) FROM job_lanes WHERE job_id = $1", d), 0);
  EXPECT_EQ(queue_depth(amqp::exec_queue(region)), -1) << "the broker was not touched";

  auto ok = f.submit(with_priority(spec, "3"), d);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  auto bad = f.submit(with_priority(spec, "12"), d);
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_EQ(lane_weight(d, region), 3) << "a refused re-submit changes nothing";
  EXPECT_TRUE(holds(amqp::lane_queue(region, d), 1));
}

}  // namespace beacon::test
