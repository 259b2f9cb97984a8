// Issue 8 item 1: one bound end to end. An answer of 1.5 MiB (over the old
// 1 MiB event limit, within kMaxEventBytes) goes through worker and writer and
// is stored completed; nothing of it reaches beacon.dead.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <beacon/core/messages.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

TEST(WriterLongAnswer, AnswerOfOneAndAHalfMebibytesIsStoredCompleted) {
  Fleet f("writer-long-answer");
  f.start_sim({"--latency-ms", "5", "--mode", "long_answer"});
  auto region = "long-" + unique_suffix();
  f.write_endpoints({region});
  f.start_writer();
  f.start_worker(region);
  auto job = "long-answer-" + unique_suffix();
  auto s = f.submit(numbered_spec({region}, {"m1"}, 3, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(f.wait_finished(job, 120s)) << f.logs_tail();
  expect_exact(f, job, 3, 3);

  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction t(c);
  auto r = t.exec_params("SELECT min(length(output->>'text')), count(*) FROM executions WHERE job_id = $1", job);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][1].as<long>(), 3);
  EXPECT_EQ(r[0][0].as<long>(), 3L * 512 * 1024) << "the whole answer is stored";

  auto dead = take_dead_letters([&](const amqp::Delivery& d) { return d.body.find(job) != std::string::npos; }, 0, 2s);
  EXPECT_TRUE(dead.empty()) << dead.size() << " events of the job in beacon.dead";
}

}  // namespace
}  // namespace beacon::test
