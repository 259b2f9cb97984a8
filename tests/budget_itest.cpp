// Issue 10, budgets: a job's "budget" stops it once its answers have spent
// it — no new inference starts, the rest ends `cancelled` with reason
// budget_exhausted — and a re-submit with a higher budget resumes it without
// paying twice for what was answered. The real worker, progress-writer and
// producer against the real RabbitMQ and Postgres; the simulator counts what
// reached the endpoint.
#include <iostream>
#include <string>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <beacon/core/json.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

// The spec with "budget": {...} added.
std::string with_budget(const std::string& spec, const std::string& budget_json) {
  return spec.substr(0, spec.rfind('}')) + ",\"budget\":" + budget_json + "}";
}

bool no_open_rows(Fleet& f, const std::string& job) {
  auto e = f.executions(job);
  return e.rows > 0 && e.running == 0 && e.pending == 0;
}

std::optional<std::string> stop_reason(const std::string& job) {
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  auto r = tx.exec_params("SELECT stop_reason FROM jobs WHERE job_id = $1", job);
  if (r.empty() || r[0][0].is_null()) return std::nullopt;
  return r[0][0].as<std::string>();
}

// How many answers, in the order the worker finished them, it took for the
// summed cost to reach `budget`; -1 when the answers never reach it.
long answers_to_reach(const std::string& job, double budget) {
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  auto rows = tx.exec_params(
      "SELECT cost_usd FROM executions WHERE job_id = $1 AND status = 'completed' ORDER BY completed_at", job);
  double sum = 0;
  long n = 0;
  for (const auto& r : rows) {
    EXPECT_FALSE(r[0].is_null()) << "a priced endpoint's answer stores its cost";
    sum += r[0].as<double>(0);
    ++n;
    if (sum >= budget) return n;
  }
  return -1;
}

}  // namespace

// One worker, 2 requests on the wire at most (500 ms each) and 8 messages
// held: the budget is spent after a few answers; what was on the wire then
// finishes and is kept, nothing else reaches the endpoint, every other
// execution ends `cancelled` with reason budget_exhausted and the job says
// why it stopped. A re-submit with the same budget is refused (it is spent);
// one with a higher budget runs exactly the cancelled ones.
TEST(Budget, StopsTheJobAtItsBudgetAndAHigherBudgetResumesIt) {
  Fleet f("budget-stop");
  f.start_sim({"--latency-ms", "500"});
  auto region = "bud-" + unique_suffix();
  constexpr long kInFlight = 2;
  // $0.001 a token: an answer of the sim costs a few cents.
  f.write_endpoints({region}, R"({"max_in_flight": 2, "price_per_million_input_tokens": 1000,)"
                              R"( "price_per_million_output_tokens": 1000})");
  f.start_writer();
  auto& worker = f.start_worker(region, {"--concurrency", "8", "--metrics-addr", "127.0.0.1:0"});
  int port = logged_metrics_port(worker);
  ASSERT_NE(port, 0) << worker.output();
  auto job = "budget-stop-" + unique_suffix();
  constexpr long kTotal = 40;
  constexpr double kBudget = 0.3;
  const auto plain = numbered_spec({region}, {"m1"}, kTotal, job);
  auto s = f.submit(with_budget(plain, R"({"max_cost_usd": 0.3})"), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_EQ(s.enqueued, kTotal);

  ASSERT_TRUE(eventually([&] { return stop_reason(job).has_value(); }, 60s))
      << "the budget should stop the job\n" << f.logs_tail();
  const long sent_at_stop = sim_stat(f, "requests");
  ASSERT_TRUE(eventually([&] { return no_open_rows(f, job); }, 60s)) << "every row ends\n" << f.logs_tail();
  ASSERT_TRUE(eventually([&] { return scrape(port, "beacon_worker_in_flight") == 0; }, 30s))
      << "every message is acked\n" << f.logs_tail();

  EXPECT_EQ(stop_reason(job), "budget_exhausted");
  auto e = f.executions(job);
  EXPECT_EQ(e.rows, kTotal);
  EXPECT_EQ(e.failed, 0) << "a budget stop is never a failure";
  EXPECT_EQ(e.completed + e.cancelled, kTotal);
  EXPECT_GT(e.cancelled, kTotal / 2) << "the budget stops the job early";
  const long needed = answers_to_reach(job, kBudget);
  ASSERT_GT(needed, 0) << "the completed answers must have reached the budget";
  // In flight at the stop: the requests on the wire when the answer that
  // reached the budget was committed, and those a freed slot started before
  // the stop reached the worker; each is at most kInFlight.
  EXPECT_LE(e.completed - needed, 2 * kInFlight) << "overshoot beyond what was in flight";
  const long sent = sim_stat(f, "requests");
  EXPECT_EQ(sent, e.completed) << "every endpoint call is an answer kept; nothing was sent for a cancelled row";
  EXPECT_LE(sent - sent_at_stop, kInFlight) << "no endpoint call starts after the stop";
  {
    pqxx::connection c(require_env("BEACON_DATABASE_URL"));
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params1(
        "SELECT count(*) FILTER (WHERE error->>'kind' = 'cancelled' AND error->>'reason' = 'budget_exhausted'),"
        " count(*) FROM executions WHERE job_id = $1 AND status = 'cancelled'",
        job);
    EXPECT_EQ(r[0].as<long>(), r[1].as<long>()) << "every cancelled row says budget_exhausted";
  }
  auto j = f.job(job);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->status, "cancelled");
  EXPECT_EQ(j->cancelled, e.cancelled);
  EXPECT_EQ(j->completed, e.completed);
  auto st = f.producer({"status", job, "--json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  auto doc = json::parse(st.out);
  ASSERT_TRUE(doc.HasMember("stop_reason") && doc["stop_reason"].IsString()) << st.out;
  EXPECT_STREQ(doc["stop_reason"].GetString(), "budget_exhausted");
  ASSERT_TRUE(doc.HasMember("budget") && doc["budget"].IsObject()) << st.out;
  EXPECT_GE(doc["cost_usd"].GetDouble(), kBudget) << st.out;
  auto text = f.producer({"status", job});
  EXPECT_NE(text.out.find("stopped: budget exhausted"), std::string::npos) << text.out;
  auto report = f.producer({"report", job});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("stopped early: budget exhausted"), std::string::npos) << report.out;
  std::cout << "[figures] budget $" << kBudget << ": " << needed << " answers reached it, " << e.completed
            << " completed (" << sent << " endpoint calls), " << e.cancelled << " cancelled\n";

  // The same budget again: spent, so refused with the reason, nothing changes.
  auto same = f.submit(with_budget(plain, R"({"max_cost_usd": 0.3})"), job);
  EXPECT_EQ(same.exit_code, 2) << same.out << same.err;
  EXPECT_NE(same.err.find("budget.max_cost_usd"), std::string::npos) << same.err;
  EXPECT_EQ(stop_reason(job), "budget_exhausted");

  // A higher budget resumes: the cancelled ones run, the answered ones are not paid again.
  auto again = f.submit(with_budget(plain, R"({"max_cost_usd": 100})"), job);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.enqueued, e.cancelled);
  EXPECT_EQ(again.skipped, e.completed);
  ASSERT_TRUE(f.wait_finished(job, 90s)) << f.logs_tail();
  ASSERT_TRUE(eventually([&] { return f.executions(job).completed == kTotal; }, 30s)) << f.logs_tail();
  expect_exact(f, job, kTotal, kTotal);
  auto done = f.job(job);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, "completed");
  EXPECT_EQ(stop_reason(job), std::nullopt) << "a re-submit clears the stop";
  EXPECT_EQ(sim_stat(f, "requests"), kTotal) << "each execution reached the endpoint once";
  EXPECT_EQ(sim_stat(f, "completed_duplicates"), 0) << "nothing completed was paid for twice";
}

// A token budget stops a job the same way (no prices needed).
TEST(Budget, TokenBudgetStopsAnUnpricedJob) {
  Fleet f("budget-tokens");
  f.start_sim({"--latency-ms", "300"});
  auto region = "budt-" + unique_suffix();
  f.write_endpoints({region}, R"({"max_in_flight": 2})");
  f.start_writer();
  f.start_worker(region, {"--concurrency", "4"});
  auto job = "budget-tokens-" + unique_suffix();
  constexpr long kTotal = 30;
  auto s = f.submit(with_budget(numbered_spec({region}, {"m1"}, kTotal, job), R"({"max_tokens": 200})"), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(eventually([&] { return stop_reason(job).has_value() && no_open_rows(f, job); }, 60s))
      << f.logs_tail();
  EXPECT_EQ(stop_reason(job), "budget_exhausted");
  auto e = f.executions(job);
  EXPECT_EQ(e.failed, 0);
  EXPECT_EQ(e.completed + e.cancelled, kTotal);
  EXPECT_GT(e.cancelled, 0);
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  auto r = tx.exec_params1("SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) FROM executions "
                           "WHERE job_id = $1 AND status = 'completed'",
                           job);
  EXPECT_GE(r[0].as<long>(), 200) << "it stops only once the budget is spent";
}

}  // namespace beacon::test
