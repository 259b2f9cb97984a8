// Big jobs (issue 9): a 200,000-execution submit from a questions file gives
// exactly one row and one queued message per execution, and a submit killed
// (SIGKILL) in the middle and run again loses nothing and writes each row once.
#include <csignal>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include <beacon/amqp/topology.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

// n questions q000000.. in a JSONL file; returns its path.
std::string write_questions(Fleet& f, const std::string& name, int n, const std::string& tag) {
  const std::string path = f.dir() + "/" + name;
  std::ofstream out(path, std::ios::binary);
  for (int i = 0; i < n; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "q%06d", i);
    out << "{\"id\":\"" << id << "\",\"prompt\":\"Question " << i << " of " << tag << "?\"}\n";
  }
  return path;
}

std::string spec_for(const std::vector<std::string>& regions, const std::vector<std::string>& models,
                     const std::string& questions_file) {
  auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "\"" : ",\"") + x + "\"";
    return "[" + out + "]";
  };
  return "{\"models\":" + list(models) + ",\"regions\":" + list(regions) + ",\"questions_file\":\"" +
         questions_file + "\",\"samples\":1}";
}

// Exactly one row per planned key, all pending (no worker runs).
void expect_rows(Fleet& f, const std::string& job, long total) {
  const auto e = f.executions(job);
  EXPECT_EQ(e.rows, total);
  EXPECT_EQ(e.distinct_keys, total);
  EXPECT_EQ(e.pending, total);
}

TEST(BigSubmit, TwoHundredThousandExecutionsGiveExactlyOneRowAndOneMessageEach) {
  Fleet f("big-200k");
  const auto sfx = unique_suffix();
  const std::vector<std::string> regions = {"big-a-" + sfx, "big-b-" + sfx};
  const auto job = "big-200k-" + sfx;
  write_questions(f, "q.jsonl", 50'000, job);
  auto s = f.submit(spec_for(regions, {"m1", "m2"}, "q.jsonl"), job);
  ASSERT_EQ(s.exit_code, 0) << s.out << s.err;
  EXPECT_EQ(s.total, 200'000);
  EXPECT_EQ(s.enqueued, 200'000);
  EXPECT_EQ(s.skipped, 0);
  expect_rows(f, job, 200'000);
  auto j = f.job(job);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->total, 200'000);
  // Confirmed means routed to a queue: the depths are exact at once.
  for (const auto& r : regions) EXPECT_EQ(queue_depth(amqp::exec_queue(r)), 100'000) << r;
  for (const auto& r : regions) delete_queue(amqp::exec_queue(r));
}

TEST(BigSubmit, KilledMidSubmitThenRunAgainLosesNothingAndWritesEachRowOnce) {
  Fleet f("big-kill");
  const auto sfx = unique_suffix();
  const std::string region = "big-kill-" + sfx;
  const auto job = "big-kill-" + sfx;
  constexpr long kTotal = 60'000;  // three chunks of 20,000
  write_questions(f, "q.jsonl", kTotal, job);
  const auto spec = f.write_file("spec.json", spec_for({region}, {"m1"}, "q.jsonl"));
  {
    Process submit({build_dir() + "/beacon-producer", "submit", spec, "--job-id", job}, f.env(),
                   f.dir() + "/killed-submit.log");
    // Killed once its first chunk is registered and partly published.
    ASSERT_TRUE(eventually([&] { return queue_depth(amqp::exec_queue(region)) > 2'000 || !submit.running(); }, 120s))
        << submit.output();
    ASSERT_TRUE(submit.running()) << "the submit finished before it could be killed\n" << submit.output();
    submit.kill();
  }
  const auto rows_at_kill = f.executions(job).rows;
  std::printf("[figures] killed with %ld of %ld rows registered and %ld messages queued\n", rows_at_kill, kTotal,
              queue_depth(amqp::exec_queue(region)));
  EXPECT_LT(rows_at_kill, kTotal) << "the kill came too late to test a resume";

  auto again = f.producer({"submit", spec, "--job-id", job});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("\"total\":60000"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("\"enqueued\":60000"), std::string::npos) << "nothing completed: everything again\n"
                                                                     << again.out;
  expect_rows(f, job, kTotal);

  // Every key is queued at least once; the only duplicates are messages the
  // killed run had published (the worker's pay-once preflight absorbs them).
  std::map<std::string, int> seen;
  const long depth = queue_depth(amqp::exec_queue(region));
  consume_settling(
      amqp::exec_queue(region),
      [&](const amqp::Delivery& d, bool& stop) {
        ++seen[d.message_id];
        stop = static_cast<long>(seen.size()) == kTotal && depth <= 0;
        return true;
      },
      300s, 5s, 1000);
  EXPECT_EQ(static_cast<long>(seen.size()), kTotal) << "keys missing from the queue";
  long dups = 0;
  for (const auto& [id, n] : seen) {
    EXPECT_LE(n, 2) << id << " queued " << n << " times";
    dups += n - 1;
  }
  std::printf("[figures] %ld duplicate messages after the kill and re-run (of %ld)\n", dups, kTotal);
  delete_queue(amqp::exec_queue(region));
}

// A cancel while the submit is still registering chunks: the chunks written
// after it are cancelled rows (counted), nothing more is enqueued, and the
// job ends cancelled with exact counters (no pending row left behind).
TEST(BigSubmit, CancelledWhileSubmittingLeavesNoPendingRowAndEnqueuesNoMore) {
  Fleet f("big-cancel");
  const auto sfx = unique_suffix();
  const std::string region = "big-cancel-" + sfx;
  const auto job = "big-cancel-" + sfx;
  constexpr long kTotal = 100'000;  // five chunks
  write_questions(f, "q.jsonl", kTotal, job);
  const auto spec = f.write_file("spec.json", spec_for({region}, {"m1"}, "q.jsonl"));
  Process submit({build_dir() + "/beacon-producer", "submit", spec, "--job-id", job}, f.env(),
                 f.dir() + "/submit.log");
  ASSERT_TRUE(eventually([&] { return f.executions(job).rows > 0 || !submit.running(); }, 120s)) << submit.output();
  auto cancel = f.producer({"cancel", job});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
  const auto rc = submit.wait(300s);
  ASSERT_TRUE(rc.has_value()) << "submit did not end\n" << submit.output();
  EXPECT_EQ(*rc, 0) << submit.output();
  const auto j = f.job(job);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->status, "cancelled");
  expect_exact(f, job, kTotal, 0);  // rows = keys = total, counters = rows, none pending or running
  const long queued = queue_depth(amqp::exec_queue(region));
  std::printf("[figures] cancelled mid-submit: %ld of %ld messages had been enqueued\n", queued, kTotal);
  if (submit.output().find("\"enqueued\":100000") != std::string::npos) {
    std::printf("[figures] the submit finished before the cancel landed\n");
  } else {
    EXPECT_LT(queued, kTotal) << "nothing is enqueued once the job is cancelled";
  }
  delete_queue(amqp::exec_queue(region));
}

}  // namespace
}  // namespace beacon::test
