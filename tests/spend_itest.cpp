// Issue 10: what a job sends and spends. Samples carry distinct seeds; every
// answer stores its cost by the endpoint's prices, and `status` sums tokens
// and cost per job, region and model from the maintained counters.
#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <beacon/core/json.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/test_db.hpp"
#include "support/wait.hpp"

namespace beacon::test {

using namespace std::chrono_literals;

// Issue 10 (SPEC decisions, samples): with params.seed, sample k sends
// seed + k, so the samples of one question are distinct requests (the sim
// counts a second request with the same model, region, prompt and seed as a
// duplicate), and the seed sent is stored with the row and exported.
TEST(Spend, SamplesSendSeedPlusKAndStoreIt) {
  Fleet f("e2e-seed");
  f.start_sim({"--latency-ms", "5"});
  auto region = "seed-" + unique_suffix();
  f.write_endpoints({region});
  f.start_writer();
  f.start_worker(region);
  auto job = "e2e-seed-" + unique_suffix();
  auto s = f.submit(R"({"models":["m1"],"regions":[")" + region +
                        R"("],"questions":[{"id":"q1","prompt":"Say a number"},{"id":"q2","prompt":"Say a word"}],)"
                        R"("samples":3,"params":{"seed":100}})",
                    job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(f.wait_finished(job, 60s)) << f.logs_tail();
  expect_exact(f, job, 6, 6);
  EXPECT_EQ(sim_stat(f, "requests"), 6);
  EXPECT_EQ(sim_stat(f, "duplicates"), 0) << "the 3 samples of a question sent the same request";
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  auto r = tx.exec_params("SELECT question_id, sample, seed FROM executions WHERE job_id=$1 ORDER BY 1, 2", job);
  ASSERT_EQ(r.size(), 6u);
  for (const auto& row : r) {
    ASSERT_FALSE(row[2].is_null()) << row[0].c_str() << "/" << row[1].c_str() << ": no seed stored";
    EXPECT_EQ(row[2].as<long>(), 100 + row[1].as<long>()) << row[0].c_str() << " sample " << row[1].c_str();
  }
  auto exported = f.producer({"export", job});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_NE(exported.out.find("\"seed\":102"), std::string::npos) << exported.out;
}

TEST(Spend, CostOfEveryAnswerIsStoredAndSummedPerJobRegionAndModel) {
  Fleet f("spend-cost");
  f.start_sim({"--latency-ms", "5"});
  std::vector<std::string> regions{"cost-a-" + unique_suffix(), "cost-b-" + unique_suffix()};
  f.write_endpoints(regions, R"({"price_per_million_input_tokens": 1.5, "price_per_million_output_tokens": 6})");
  f.start_writer();
  for (const auto& r : regions) f.start_worker(r);
  auto job = "spend-cost-" + unique_suffix();
  auto s = f.submit(numbered_spec(regions, {"m1", "m2"}, 5, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(f.wait_finished(job, 60s)) << f.logs_tail();
  expect_exact(f, job, 20, 20);

  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  EXPECT_EQ(db::testing::group_counter_mismatches(c, job), 0) << "the maintained token counters differ from the rows";
  double row_sum = 0;
  {
    pqxx::read_transaction tx(c);
    auto rows = tx.exec_params("SELECT prompt_tokens, completion_tokens, cost_usd FROM executions WHERE job_id=$1", job);
    ASSERT_EQ(rows.size(), 20u);
    for (const auto& r : rows) {
      ASSERT_FALSE(r[0].is_null() || r[1].is_null()) << "the sim reports usage";
      ASSERT_FALSE(r[2].is_null()) << "a priced endpoint's answer stores no cost";
      const double expected = (r[0].as<double>() * 1.5 + r[1].as<double>() * 6) / 1e6;
      EXPECT_NEAR(r[2].as<double>(), expected, 1e-12);
      row_sum += r[2].as<double>();
    }
  }
  ASSERT_GT(row_sum, 0);
  auto st = f.producer({"status", job, "--json", "--by", "region"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  auto doc = json::parse(st.out);
  ASSERT_TRUE(doc.HasMember("cost_usd") && doc["cost_usd"].IsNumber()) << st.out;
  EXPECT_NEAR(doc["cost_usd"].GetDouble(), row_sum, 1e-9) << st.out;
  double by_region = 0;
  for (const auto& g : doc["regions"].GetArray()) by_region += g["cost_usd"].GetDouble();
  EXPECT_NEAR(by_region, row_sum, 1e-9) << st.out;
  EXPECT_GT(doc["completion_tokens"].GetInt64(), 0) << st.out;
  auto text = f.producer({"status", job});
  EXPECT_NE(text.out.find("cost $"), std::string::npos) << text.out;
  auto exported = f.producer({"export", job});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_NE(exported.out.find("\"cost_usd\":0."), std::string::npos) << exported.out;
}

}  // namespace beacon::test
