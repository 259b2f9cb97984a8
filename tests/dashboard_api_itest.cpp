// beacon-dashboard over plain HTTP against the real Postgres: the JSON API
// equals the database, configuration errors exit 2, the token and the request
// bounds hold.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <beacon/core/json.hpp>

#include "dashboard_process.hpp"
#include "support/fleet.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;
namespace http = boost::beast::http;

struct Reply {
  int status = 0;
  std::string body;
  std::string csp;
};

Reply get(int port, const std::string& target, const std::map<std::string, std::string>& headers = {}) {
  boost::asio::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  http::write(stream, req);
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  boost::beast::error_code ec;
  http::read(stream, buf, res, ec);
  if (ec) return {};
  return {static_cast<int>(res.result_int()), res.body(), std::string(res["Content-Security-Policy"])};
}

std::string one_job_spec() {
  return R"({"models":["m1","m2"],"regions":["dash-r1","dash-r2"],"questions":["math_basic","taiwan_status"],"samples":2})";
}

}  // namespace

TEST(DashboardApi, JobJsonEqualsTheDatabase) {
  Fleet f("dash-api");
  auto dash = start_dashboard(f);
  const auto job = "dash-api-" + unique_suffix();
  const auto s = f.submit(one_job_spec(), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;

  const auto r = get(dash.port, "/api/jobs/" + job);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto doc = json::parse(r.body);
  const auto row = f.job(job).value();
  EXPECT_EQ(json::get_int(doc, "total"), row.total);
  EXPECT_EQ(json::get_int(doc, "total"), 16);
  EXPECT_EQ(json::get_int(doc, "pending"), 16);
  EXPECT_EQ(doc["questions"].Size(), 2u);
  EXPECT_EQ(doc["regions"].Size(), 2u);
  EXPECT_EQ(doc["models"].Size(), 2u);
  EXPECT_EQ(json::get_string(doc, "matrix"), "cells");
  EXPECT_NE(r.csp.find("default-src 'self'"), std::string::npos);

  // The same data as `status --json`.
  const auto status = f.producer({"status", job, "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const auto st = json::parse(status.out);
  for (const char* k : {"total", "pending", "running", "completed", "failed", "cancelled", "refused", "done"})
    EXPECT_EQ(json::get_int(doc, k), json::get_int(st, k)) << k;
  EXPECT_EQ(json::to_string(doc["questions"]), json::to_string(st["questions"]));

  const auto m = json::parse(get(dash.port, "/api/jobs/" + job + "/matrix").body);
  EXPECT_EQ(m["cells"].Size(), 16u);
  const auto e = get(dash.port, "/api/jobs/" + job + "/execution?region=dash-r1&model=m1&question=math_basic&sample=1");
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(json::get_string(json::parse(e.body), "prompt"), "What is 2+2?");
  EXPECT_EQ(json::parse(e.body)["regions"].Size(), 2u);
  EXPECT_EQ(get(dash.port, "/api/jobs/" + job + "/execution?region=dash-r1&model=m1&question=math_basic&sample=9").status, 404);
  EXPECT_EQ(get(dash.port, "/api/jobs/" + job + "/report").status, 200);
  EXPECT_EQ(get(dash.port, "/api/jobs/no-such-job-" + unique_suffix()).status, 404);
  const auto list = json::parse(get(dash.port, "/api/jobs?limit=200").body);
  bool listed = false;
  for (const auto& j : list["jobs"].GetArray()) listed = listed || j["job_id"].GetString() == job;
  EXPECT_TRUE(listed);
  EXPECT_EQ(get(dash.port, "/readyz").status, 200);
  EXPECT_EQ(dash.proc->stop(10s), 0);
}

// A job whose questions came from a file: the stored spec holds the file's
// digest only, and the execution page still shows each question's prompt
// (submit keeps them in job_questions, migrations/0012).
TEST(DashboardApi, ExecutionOfAQuestionsFileJobShowsItsPrompt) {
  Fleet f("dash-qfile");
  auto dash = start_dashboard(f);
  f.write_file("q.jsonl",
               "{\"id\":\"f1\",\"prompt\":\"First <b>prompt</b>?\"}\n"
               "{\"id\":\"f2\",\"prompt\":\"Second\\nprompt\"}\n");
  const auto job = "dash-qfile-" + unique_suffix();
  const auto s = f.submit(R"({"models":["m1","m2"],"regions":["dash-q1","dash-q2"],"questions_file":"q.jsonl","samples":2})",
                          job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_EQ(s.total, 16);
  for (const auto& [question, prompt] :
       std::vector<std::pair<std::string, std::string>>{{"f1", "First <b>prompt</b>?"}, {"f2", "Second\nprompt"}}) {
    const auto e = get(dash.port, "/api/jobs/" + job + "/execution?region=dash-q2&model=m2&question=" + question +
                                      "&sample=1");
    ASSERT_EQ(e.status, 200) << e.body;
    EXPECT_EQ(json::get_string(json::parse(e.body), "prompt"), prompt) << e.body;
  }
  // Submitted again (a resume): the prompts are kept, not written twice.
  EXPECT_EQ(f.submit(R"({"models":["m1","m2"],"regions":["dash-q1","dash-q2"],"questions_file":"q.jsonl","samples":2})",
                     job).exit_code, 0);
  const auto again = get(dash.port, "/api/jobs/" + job + "/execution?region=dash-q1&model=m1&question=f1&sample=0");
  EXPECT_EQ(json::get_string(json::parse(again.body), "prompt"), "First <b>prompt</b>?") << again.body;
}

TEST(DashboardApi, BadConfigurationExits2) {
  Fleet f("dash-config");
  auto env = f.env();
  for (const char* addr : {"not-an-address", "127.0.0.1:70000", "0.0.0.0:0"}) {
    env["BEACON_DASHBOARD_ADDR"] = addr;
    const auto r = run({build_dir() + "/beacon-dashboard"}, env, 20s);
    EXPECT_EQ(r.exit_code, 2) << addr << ": " << r.err;
    EXPECT_NE(r.err.find("BEACON_DASHBOARD"), std::string::npos) << r.err;
  }
  // A port in use is exit 2 too.
  auto first = start_dashboard(f);
  env["BEACON_DASHBOARD_ADDR"] = "127.0.0.1:" + std::to_string(first.port);
  EXPECT_EQ(run({build_dir() + "/beacon-dashboard"}, env, 20s).exit_code, 2);
  env["BEACON_DASHBOARD_ADDR"] = "127.0.0.1:0";
  env["BEACON_DASHBOARD_TOKEN"] = "has space";
  EXPECT_EQ(run({build_dir() + "/beacon-dashboard"}, env, 20s).exit_code, 2);
}

TEST(DashboardApi, TokenAndRequestBounds) {
  Fleet f("dash-token");
  auto dash = start_dashboard(f, {{"BEACON_DASHBOARD_TOKEN", "t0ken-" + unique_suffix()}});
  const std::string token = "t0ken-";  // prefix only: never the real one
  EXPECT_EQ(get(dash.port, "/api/jobs").status, 401);
  EXPECT_EQ(get(dash.port, "/").status, 401);
  EXPECT_EQ(get(dash.port, "/api/jobs", {{"Authorization", "Bearer " + token}}).status, 401);
  EXPECT_EQ(get(dash.port, "/healthz").status, 200);
  EXPECT_EQ(get(dash.port, "/api/jobs", {{"X-Big", std::string(20000, 'x')}}).status, 413);
  EXPECT_EQ(dash.proc->stop(10s), 0);
}

TEST(DashboardApi, BearerTokenLetsIn) {
  Fleet f("dash-bearer");
  const std::string token = "s3cret-" + unique_suffix();
  auto dash = start_dashboard(f, {{"BEACON_DASHBOARD_TOKEN", token}});
  EXPECT_EQ(get(dash.port, "/api/jobs", {{"Authorization", "Bearer " + token}}).status, 200);
  EXPECT_EQ(get(dash.port, "/?token=" + token).status, 303);
  EXPECT_EQ(get(dash.port, "/", {{"Cookie", "beacon_dashboard_token=" + token}}).status, 200);
  EXPECT_EQ(dash.proc->output().find(token), std::string::npos) << "the token reached the log";
  EXPECT_EQ(dash.proc->stop(10s), 0);
}

}  // namespace beacon::test
