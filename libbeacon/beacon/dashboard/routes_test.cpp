// Routes that need no database: pages, assets, security headers, the token,
// bad requests, and a database that is away (503, not a crash).
#include <beacon/dashboard/routes.hpp>

#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <beacon/db/connect.hpp>

namespace beacon::dashboard {
namespace {
namespace http = boost::beast::http;

metrics::HttpRequest get(const std::string& target) {
  metrics::HttpRequest req{http::verb::get, target, 11};
  return req;
}

Dashboard no_database(const std::string& token = "") {
  return Dashboard(token, []() -> std::unique_ptr<pqxx::connection> {
    throw db::DatabaseUnavailable("no database in a unit test");
  });
}

TEST(Routes, PagesCarryTheContentSecurityPolicy) {
  auto d = no_database();
  for (const char* target : {"/", "/jobs/j1", "/jobs/j1/execution?region=r&model=m&question=q&sample=0",
                             "/jobs/j1/report", "/assets/job.js", "/assets/app.css"}) {
    const auto res = d.handle(get(target));
    EXPECT_EQ(res.result(), http::status::ok) << target;
    EXPECT_EQ(std::string(res["Content-Security-Policy"]), kContentSecurityPolicy) << target;
    EXPECT_EQ(std::string(res["X-Content-Type-Options"]), "nosniff") << target;
  }
  EXPECT_NE(std::string(d.handle(get("/assets/job.js"))[http::field::content_type]).find("javascript"), std::string::npos);
}

TEST(Routes, PagesHaveNoInlineScript) {
  auto d = no_database();
  for (const char* target : {"/", "/jobs/j1", "/jobs/j1/execution", "/jobs/j1/report"}) {
    const std::string body = d.handle(get(target)).body();
    std::size_t at = 0;
    while ((at = body.find("<script", at)) != std::string::npos) {
      const auto end = body.find('>', at);
      EXPECT_NE(body.substr(at, end - at).find(" src="), std::string::npos) << target << ": inline script";
      EXPECT_EQ(body.substr(end + 1, 9), "</script>") << target;
      at = end;
    }
    EXPECT_EQ(body.find("onload="), std::string::npos);
    EXPECT_EQ(body.find("onclick="), std::string::npos);
  }
}

TEST(Routes, ScriptsNeverInsertMarkup) {
  auto d = no_database();
  for (const char* js : {"common.js", "jobs.js", "job.js", "execution.js", "report.js"}) {
    const std::string body = d.handle(get(std::string("/assets/") + js)).body();
    for (const char* banned : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("})
      EXPECT_EQ(body.find(banned), std::string::npos) << js << " uses " << banned;
  }
}

TEST(Routes, UnknownThingsAre404AndWritesAre405) {
  auto d = no_database();
  EXPECT_EQ(d.handle(get("/nope")).result(), http::status::not_found);
  EXPECT_EQ(d.handle(get("/assets/nope.js")).result(), http::status::not_found);
  EXPECT_EQ(d.handle(get("/jobs/bad%20id")).result(), http::status::not_found);
  EXPECT_EQ(d.handle(get("/jobs/%zz")).result(), http::status::bad_request);
  metrics::HttpRequest post{http::verb::post, "/api/jobs", 11};
  EXPECT_EQ(d.handle(post).result(), http::status::method_not_allowed);
}

TEST(Routes, DatabaseAwayIs503) {
  auto d = no_database();
  const auto res = d.handle(get("/api/jobs"));
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_NE(res.body().find("database unavailable"), std::string::npos);
  EXPECT_EQ(d.handle(get("/readyz")).result(), http::status::service_unavailable);
  EXPECT_EQ(d.handle(get("/healthz")).result(), http::status::ok);
}

TEST(Routes, TokenGuardsEverythingButProbes) {
  auto d = no_database("s3cret");
  EXPECT_EQ(d.handle(get("/")).result(), http::status::unauthorized);
  EXPECT_EQ(d.handle(get("/api/jobs")).result(), http::status::unauthorized);
  EXPECT_EQ(d.handle(get("/healthz")).result(), http::status::ok);
  auto with_bearer = get("/jobs/j1");
  with_bearer.set(http::field::authorization, "Bearer s3cret");
  EXPECT_EQ(d.handle(with_bearer).result(), http::status::ok);
  const auto login = d.handle(get("/jobs/j1?token=s3cret"));
  EXPECT_EQ(login.result(), http::status::see_other);
  EXPECT_EQ(std::string(login[http::field::location]), "/jobs/j1");
  auto with_cookie = get("/jobs/j1");
  with_cookie.set(http::field::cookie, "beacon_dashboard_token=s3cret");
  EXPECT_EQ(d.handle(with_cookie).result(), http::status::ok);
}

}  // namespace
}  // namespace beacon::dashboard
