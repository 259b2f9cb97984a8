// Issue 10, reuse across jobs: a job with "reuse": "completed" copies an
// earlier job's answer to the exact same request instead of paying the
// endpoint again, and marks the copy with its source. The key of "exact"
// includes the seed each sample sends, so k samples are never one answer.
#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <beacon/core/json.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/test_db.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

constexpr int kQuestions = 4;
constexpr int kSamples = 3;
constexpr long kExecutions = kQuestions * kSamples;

// The same questions for every job of a test (prompts unique to `tag`, so no
// other test's rows match); `params` and `extra` vary per job.
std::string spec(const std::string& region, const std::string& tag, const std::string& params,
                 const std::string& extra = "") {
  std::string questions;
  for (int q = 1; q <= kQuestions; ++q) {
    if (q > 1) questions += ",";
    questions += R"({"id":"q)" + std::to_string(q) + R"(","prompt":"Name a prime number, )" + tag + " #" +
                 std::to_string(q) + R"("})";
  }
  return R"({"models":["m1"],"regions":[")" + region + R"("],"questions":[)" + questions + R"(],"samples":)" +
         std::to_string(kSamples) + R"(,"params":)" + params + extra + "}";
}

struct Row {
  std::string text, reused_from, digest;
  std::optional<long> prompt_tokens, completion_tokens, seed;
  std::optional<double> cost;
};

// "region/question/sample" -> the row's answer and bookkeeping.
std::map<std::string, Row> rows_of(const std::string& job) {
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  std::map<std::string, Row> out;
  for (const auto& r : tx.exec_params(
           "SELECT region || '/' || question_id || '/' || sample, output->>'text', coalesce(reused_from::text, ''), "
           "coalesce(encode(request_digest, 'hex'), ''), prompt_tokens, completion_tokens, seed, cost_usd "
           "FROM executions WHERE job_id = $1 AND status = 'completed'",
           job)) {
    Row x;
    x.text = r[1].is_null() ? "" : r[1].as<std::string>();
    x.reused_from = r[2].as<std::string>();
    x.digest = r[3].as<std::string>();
    if (!r[4].is_null()) x.prompt_tokens = r[4].as<long>();
    if (!r[5].is_null()) x.completion_tokens = r[5].as<long>();
    if (!r[6].is_null()) x.seed = r[6].as<long>();
    if (!r[7].is_null()) x.cost = r[7].as<double>();
    out[r[0].as<std::string>()] = x;
  }
  return out;
}

long reused_counter(const std::string& job) {
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  return tx.exec_params1("SELECT reused FROM jobs WHERE job_id = $1", job)[0].as<long>();
}

std::string key_json(const std::string& job, const std::string& region, const std::string& slot) {
  // slot: "region/qN/k"
  auto q = slot.substr(region.size() + 1, slot.rfind('/') - region.size() - 1);
  auto k = slot.substr(slot.rfind('/') + 1);
  return R"({"job_id": ")" + job + R"(", "region": ")" + region + R"(", "sample": )" + k +
         R"(, "model_id": "m1", "question_id": ")" + q + R"("})";
}

void run_job(Fleet& f, const std::string& job, const std::string& spec_json) {
  auto s = f.submit(spec_json, job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(f.wait_finished(job, 60s)) << f.logs_tail();
  expect_exact(f, job, kExecutions, kExecutions);
}

}  // namespace

TEST(Reuse, ASecondJobWithTheSameRequestsPaysNothingAndChangedOrUnreusedOnesPay) {
  Fleet f("reuse");
  f.start_sim({"--latency-ms", "5"});
  const auto region = "reuse-" + unique_suffix();
  const auto tag = unique_suffix();
  f.write_endpoints({region}, R"({"price_per_million_input_tokens": 2, "price_per_million_output_tokens": 8})");
  f.start_writer();
  f.start_worker(region);

  // Job 1 pays: N questions x 3 samples, all distinct requests (seed + k).
  const auto job1 = "reuse-1-" + unique_suffix();
  run_job(f, job1, spec(region, tag, R"({"seed": 100, "temperature": 0.5})"));
  EXPECT_EQ(sim_stat(f, "requests"), kExecutions);
  EXPECT_EQ(sim_stat(f, "duplicates"), 0) << "the samples of a question sent the same request";
  const auto paid = rows_of(job1);
  ASSERT_EQ(paid.size(), static_cast<std::size_t>(kExecutions));
  std::set<std::string> digests;
  for (const auto& [slot, r] : paid) {
    EXPECT_EQ(r.digest.size(), 64u) << slot << ": a paid answer stores its request's digest";
    EXPECT_EQ(r.reused_from, "") << slot;
    digests.insert(r.digest);
  }
  EXPECT_EQ(digests.size(), paid.size()) << "k samples share a digest: reuse would collapse them";
  EXPECT_EQ(reused_counter(job1), 0);

  // Job 2, the same requests (params spelt in another order) with reuse on:
  // no endpoint call, the same answers, each marked with its source.
  const auto job2 = "reuse-2-" + unique_suffix();
  run_job(f, job2, spec(region, tag, R"({"temperature": 0.50, "seed": 100})", R"(,"reuse":"completed")"));
  EXPECT_EQ(sim_stat(f, "requests"), kExecutions) << "a reused execution called the endpoint";
  const auto copied = rows_of(job2);
  ASSERT_EQ(copied.size(), paid.size());
  for (const auto& [slot, r] : copied) {
    const auto& src = paid.at(slot);
    EXPECT_EQ(r.text, src.text) << slot;
    EXPECT_EQ(r.digest, src.digest) << slot;
    EXPECT_EQ(r.prompt_tokens, src.prompt_tokens) << slot << ": tokens are copied";
    EXPECT_EQ(r.completion_tokens, src.completion_tokens) << slot;
    EXPECT_EQ(r.seed, src.seed) << slot;
    ASSERT_TRUE(r.cost) << slot;
    EXPECT_EQ(*r.cost, 0.0) << slot << ": a copied answer costs nothing";
    EXPECT_EQ(r.reused_from, key_json(job1, region, slot)) << slot;
  }
  EXPECT_EQ(reused_counter(job2), kExecutions);
  auto st = f.producer({"status", job2, "--json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  auto doc = json::parse(st.out);
  EXPECT_EQ(doc["completed"].GetInt64(), kExecutions) << st.out;
  EXPECT_EQ(doc["reused"].GetInt64(), kExecutions) << st.out;
  EXPECT_EQ(doc["cost_usd"].GetDouble(), 0.0) << st.out;
  auto text = f.producer({"status", job2});
  EXPECT_NE(text.out.find("reused " + std::to_string(kExecutions) + " of the completed"), std::string::npos)
      << text.out;
  auto exported = f.producer({"export", job2});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  long lines = 0;
  for (std::size_t at = 0, end; (end = exported.out.find('\n', at)) != std::string::npos; at = end + 1, ++lines) {
    auto line = json::parse(exported.out.substr(at, end - at));
    ASSERT_TRUE(line.HasMember("reused_from") && line["reused_from"].IsObject()) << exported.out;
    EXPECT_STREQ(line["reused_from"]["job_id"].GetString(), job1.c_str());
    EXPECT_EQ(line["reused_from"]["sample"].GetInt(), line["sample"].GetInt());
    EXPECT_STREQ(line["reused_from"]["question_id"].GetString(), line["question_id"].GetString());
  }
  EXPECT_EQ(lines, kExecutions);
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  EXPECT_EQ(db::testing::group_counter_mismatches(c, job2), 0) << "a reused row is not counted as completed";

  // Job 3: reuse on, one parameter changed: every request is new and pays.
  const auto job3 = "reuse-3-" + unique_suffix();
  run_job(f, job3, spec(region, tag, R"({"seed": 100, "temperature": 0.7})", R"(,"reuse":"completed")"));
  EXPECT_EQ(sim_stat(f, "requests"), 2 * kExecutions);
  for (const auto& [slot, r] : rows_of(job3)) EXPECT_EQ(r.reused_from, "") << slot;
  EXPECT_EQ(reused_counter(job3), 0);

  // Job 4: job 1's requests again, reuse off: it pays.
  const auto job4 = "reuse-4-" + unique_suffix();
  run_job(f, job4, spec(region, tag, R"({"seed": 100, "temperature": 0.5})"));
  EXPECT_EQ(sim_stat(f, "requests"), 3 * kExecutions);
  for (const auto& [slot, r] : rows_of(job4)) EXPECT_EQ(r.reused_from, "") << slot;
  EXPECT_EQ(reused_counter(job4), 0);
}

// "reuse" takes one value; anything else is bad input: exit 2, nothing written.
TEST(Reuse, AnyOtherReuseValueExits2AndWritesNothing) {
  Fleet f("reuse-bad");
  const auto region = "reuse-bad-" + unique_suffix();
  for (const std::string value : {R"("always")", R"("")", "true", "null", R"(["completed"])"}) {
    const auto job = "reuse-bad-" + unique_suffix();
    auto s = f.submit(spec(region, "bad", R"({"seed": 1})", R"(,"reuse":)" + value), job);
    EXPECT_EQ(s.exit_code, 2) << value << ": " << s.err;
    EXPECT_NE(s.err.find("reuse"), std::string::npos) << value << ": the error does not name the field: " << s.err;
    EXPECT_FALSE(f.job(job)) << value << ": a job was written";
  }
}

// Without a seed the samples of a question send identical requests; the
// sample index keeps them apart, so a reusing job copies sample k from sample
// k, never one answer into all k.
TEST(Reuse, SamplesWithoutASeedAreCopiedOneForOne) {
  Fleet f("reuse-noseed");
  f.start_sim({"--latency-ms", "5"});
  const auto region = "reuse-ns-" + unique_suffix();
  const auto tag = unique_suffix();
  f.write_endpoints({region});
  f.start_writer();
  f.start_worker(region);
  const auto job1 = "reuse-ns-1-" + unique_suffix();
  run_job(f, job1, spec(region, tag, R"({"temperature": 0.5})"));
  const auto job2 = "reuse-ns-2-" + unique_suffix();
  run_job(f, job2, spec(region, tag, R"({"temperature": 0.5})", R"(,"reuse":"completed")"));
  EXPECT_EQ(sim_stat(f, "requests"), kExecutions);
  for (const auto& [slot, r] : rows_of(job2)) EXPECT_EQ(r.reused_from, key_json(job1, region, slot)) << slot;
}

// A look-up that fails never fails the execution: it pays, and the log says
// so with the execution's ids. The failure is real: the executions table is
// locked while the worker of a second region (the same endpoint, so the same
// requests) looks its messages up.
TEST(Reuse, ALookupFailureDegradesToPaying) {
  Fleet f("reuse-fail");
  f.start_sim({"--latency-ms", "5"});
  const auto a = "reuse-fa-" + unique_suffix();
  const auto b = "reuse-fb-" + unique_suffix();
  const auto tag = unique_suffix();
  f.write_endpoints({a, b});
  f.start_writer();
  f.start_worker(a);
  const auto job1 = "reuse-f1-" + unique_suffix();
  run_job(f, job1, spec(a, tag, R"({"seed": 5})"));
  const auto job2 = "reuse-f2-" + unique_suffix();
  auto s = f.submit(spec(b, tag, R"({"seed": 5})", R"(,"reuse":"completed")"), job2);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  {
    pqxx::connection locker(require_env("BEACON_DATABASE_URL"));
    pqxx::work tx(locker);
    tx.exec0("LOCK TABLE executions IN ACCESS EXCLUSIVE MODE");
    auto& worker = f.start_worker(b);
    EXPECT_TRUE(eventually([&] { return try_sim_stat(f, "requests").value_or(0) >= 2 * kExecutions; }, 60s))
        << "the executions whose look-up failed did not pay\n"
        << f.logs_tail();
    EXPECT_NE(worker.output().find("reuse look-up failed"), std::string::npos) << worker.output();
    tx.abort();
  }
  ASSERT_TRUE(f.wait_finished(job2, 60s)) << f.logs_tail();
  expect_exact(f, job2, kExecutions, kExecutions);
  EXPECT_EQ(sim_stat(f, "requests"), 2 * kExecutions);
  EXPECT_EQ(reused_counter(job2), 0);
}

}  // namespace beacon::test
