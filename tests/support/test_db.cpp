#include "test_db.hpp"

#include <cstdlib>
#include <mutex>
#include <random>

#include <pqxx/pqxx>

#include <beacon/db/connect.hpp>
#include <beacon/db/migrate.hpp>

#include "paths.hpp"

namespace beacon::db::testing {

std::string database_url() {
  const char* url = std::getenv("BEACON_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "BEACON_DATABASE_URL is not set: the db integration tests need a real Postgres, e.g. "
                     "`scripts/services.sh start && source .run/services/env.sh`";
    return "";
  }
  return url;
}

std::unique_ptr<pqxx::connection> open_connection() {
  return connect(database_url(), {"beacon-db-tests", 10});
}

std::string unique_id(const std::string& prefix) {
  static std::mutex m;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(m);
  static const char* kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id = prefix + "-";
  for (int i = 0; i < 12; ++i) id += kAlphabet[rng() % 36];
  return id;
}

JobSpec make_spec(const std::string& job_id, std::vector<std::string> regions, std::vector<std::string> models,
                  const std::vector<std::string>& questions, int samples) {
  JobSpec s;
  s.job_id = job_id;
  s.regions = std::move(regions);
  s.models = std::move(models);
  for (const auto& q : questions) s.questions.push_back({q, "prompt of " + q});
  s.samples = samples;
  s.system_prompt = "You are a helpful assistant based in {region}.";
  s.params_json = R"({"temperature":0.1,"max_tokens":512})";
  return s;
}

JobSpec spec72(const std::string& job_id) {
  return make_spec(job_id, {"us-east", "eu-west", "asia-pacific"}, {"llama3.2-1b", "qwen2.5-1.5b", "mistral-7b"},
                   {"tiananmen_neutral", "taiwan_status", "hongkong_2019", "math_basic", "geography_basic",
                    "identity_basic", "greatest_invention", "greatest_leader"});
}

ResultEvent make_event(EventKind kind, const ExecutionKey& key, int attempt) {
  ResultEvent e;
  e.event = kind;
  e.key = key;
  e.worker_id = "worker-" + key.region + "-1";
  e.attempt = attempt;
  e.started_at = "2026-01-01T00:00:00.000Z";
  if (kind != EventKind::started) e.completed_at = "2026-01-01T00:00:01.000Z";
  if (kind == EventKind::completed) {
    e.output = Output{"answer to " + key.question_id, Classification::answered, "stop", 10, 20};
    e.receipt = Receipt{"http://sim/v1", "resp-1", 200, 100.0, ""};
  }
  if (kind == EventKind::failed) e.error = ErrorInfo{ErrorKind::http, "503 from endpoint"};
  if (kind == EventKind::cancelled) e.error = ErrorInfo{ErrorKind::cancelled, "job cancelled"};
  return e;
}

std::ostream& operator<<(std::ostream& os, const Counts& c) {
  return os << "{pending " << c.pending << ", running " << c.running << ", completed " << c.completed
            << ", failed " << c.failed << ", cancelled " << c.cancelled << "}";
}

Counts row_counts(pqxx::connection& c, const std::string& job_id) {
  pqxx::nontransaction t(c);
  Counts out;
  for (const auto& r : t.exec_params("SELECT status, count(*) FROM executions WHERE job_id = $1 GROUP BY status",
                                     job_id)) {
    const auto s = r[0].as<std::string>();
    const long n = r[1].as<long>();
    if (s == "pending") out.pending = n;
    if (s == "running") out.running = n;
    if (s == "completed") out.completed = n;
    if (s == "failed") out.failed = n;
    if (s == "cancelled") out.cancelled = n;
  }
  return out;
}

Counts job_counters(pqxx::connection& c, const std::string& job_id) {
  pqxx::nontransaction t(c);
  const auto r = t.exec_params1(
      "SELECT total - running - completed - failed - cancelled, running, completed, failed, cancelled "
      "FROM jobs WHERE job_id = $1",
      job_id);
  return Counts{r[0].as<long>(), r[1].as<long>(), r[2].as<long>(), r[3].as<long>(), r[4].as<long>()};
}

long group_counter_mismatches(pqxx::connection& c, const std::string& job_id) {
  pqxx::nontransaction t(c);
  const auto r = t.exec_params1(
      "WITH recount AS ("
      "  SELECT d.dimension, d.group_id, sum(d.total) AS total, sum(d.pending) AS pending,"
      "         sum(d.running) AS running, sum(d.completed) AS completed, sum(d.failed) AS failed,"
      "         sum(d.cancelled) AS cancelled, sum(d.refused) AS refused, sum(d.latency_count) AS lc,"
      "         sum(d.prompt_tokens) AS pt, sum(d.completion_tokens) AS ct, sum(d.cost_count) AS cc"
      "  FROM executions e CROSS JOIN LATERAL beacon_group_deltas(1, e.job_id, e.region, e.model_id,"
      "       e.question_id, e.question_ord, e.status, e.classification, e.latency_ms, e.prompt_tokens,"
      "       e.completion_tokens, e.cost_usd) d"
      "  WHERE e.job_id = $1 GROUP BY d.dimension, d.group_id),"
      " kept AS (SELECT * FROM job_group_counts WHERE job_id = $1)"
      "SELECT count(*) FROM recount r FULL JOIN kept g USING (dimension, group_id)"
      " WHERE (r.total, r.pending, r.running, r.completed, r.failed, r.cancelled, r.refused, r.lc, r.pt, r.ct, r.cc)"
      "   IS DISTINCT FROM (g.total, g.pending, g.running, g.completed, g.failed, g.cancelled, g.refused,"
      "                     g.latency_count, g.prompt_tokens, g.completion_tokens, g.cost_count)",
      job_id);
  return r[0].as<long>();
}

std::string job_field(pqxx::connection& c, const std::string& job_id, const std::string& column) {
  pqxx::nontransaction t(c);
  // The column name comes from the test code, never from data.
  const auto r = t.exec_params1("SELECT (" + c.quote_name(column) + ")::text FROM jobs WHERE job_id = $1", job_id);
  return r[0].is_null() ? "" : r[0].as<std::string>();
}

std::string row_status(pqxx::connection& c, const ExecutionKey& k) {
  pqxx::nontransaction t(c);
  const auto r = t.exec_params(
      "SELECT status FROM executions WHERE job_id = $1 AND region = $2 AND model_id = $3 AND question_id = $4 "
      "AND sample = $5",
      k.job_id, k.region, k.model_id, k.question_id, k.sample);
  return r.empty() ? "" : r[0][0].as<std::string>();
}

void DbTest::SetUp() {
  const std::string url = database_url();
  ASSERT_FALSE(url.empty()) << "set BEACON_DATABASE_URL";
  static std::once_flag migrated;
  std::call_once(migrated, [] {
    auto c = open_connection();
    apply_migrations(*c, std::filesystem::path(beacon::test::source_dir()) / "migrations");
  });
  conn_ = open_connection();
}

}  // namespace beacon::db::testing
