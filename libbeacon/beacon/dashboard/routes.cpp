#include <beacon/dashboard/routes.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>

#include <boost/beast/http.hpp>
#include <pqxx/except>
#include <spdlog/spdlog.h>

#include <beacon/core/ids.hpp>
#include <beacon/dashboard/api_json.hpp>
#include <beacon/dashboard/assets.hpp>
#include <beacon/dashboard/auth.hpp>
#include <beacon/dashboard/dashboard_queries.hpp>
#include <beacon/dashboard/job_reader.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/views/report.hpp>

namespace beacon::dashboard {
namespace http = boost::beast::http;
using metrics::HttpRequest;
using metrics::HttpResponse;

namespace {

constexpr std::size_t kMaxCacheEntries = 64;

HttpResponse respond(const HttpRequest& req, http::status status, std::string_view content_type, std::string body) {
  HttpResponse res{status, req.version()};
  res.set(http::field::server, "beacon-dashboard");
  res.set(http::field::content_type, boost::beast::string_view(content_type.data(), content_type.size()));
  res.set("Content-Security-Policy", kContentSecurityPolicy);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

HttpResponse text(const HttpRequest& req, http::status status, std::string body) {
  return respond(req, status, "text/plain; charset=utf-8", std::move(body));
}

HttpResponse json_body(const HttpRequest& req, std::string body, http::status status = http::status::ok) {
  return respond(req, status, "application/json", std::move(body));
}

HttpResponse json_error(const HttpRequest& req, http::status status, const std::string& message) {
  return json_body(req, render_error_json(message), status);
}

HttpResponse page(const HttpRequest& req, std::string_view name) {
  const auto a = find_asset(name);
  if (!a) throw std::logic_error("dashboard asset missing from the build: " + std::string(name));
  return respond(req, http::status::ok, a->content_type, std::string(a->body));
}

std::optional<int> non_negative_int(const std::string& s, int max) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0 || v > max) return std::nullopt;
  return v;
}

std::string param(const Target& t, const char* name) {
  const auto it = t.query.find(name);
  return it == t.query.end() ? std::string() : it->second;
}

// The execution key of ?region=&model=&question=&sample=, or nullopt with `why`.
std::optional<ExecutionKey> key_of(const std::string& job_id, const Target& t, std::string& why) {
  ExecutionKey k;
  k.job_id = job_id;
  k.region = param(t, "region");
  k.model_id = param(t, "model");
  k.question_id = param(t, "question");  // "" for a job without questions
  const auto sample = non_negative_int(param(t, "sample").empty() ? "0" : param(t, "sample"), 1000000);
  if (!is_valid_id(k.region) || !is_valid_id(k.model_id) || (!k.question_id.empty() && !is_valid_id(k.question_id))) {
    why = "region, model and question must be ids ([A-Za-z0-9._:-]{1,128})";
    return std::nullopt;
  }
  if (!sample) {
    why = "sample must be a number >= 0";
    return std::nullopt;
  }
  k.sample = *sample;
  return k;
}


}  // namespace

Dashboard::Dashboard(std::string token, ConnectFn connect) : token_(std::move(token)), connect_(std::move(connect)) {}

pqxx::connection& Dashboard::conn() {
  if (!conn_ || !conn_->is_open()) conn_ = connect_();
  return *conn_;
}

HttpResponse Dashboard::handle(const HttpRequest& req) {
  // Server-Timing: what one request cost on the server (browsers' devtools and
  // bench/dashboard_1m.sh read it).
  const auto t0 = std::chrono::steady_clock::now();
  auto res = handle_timed(req);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  char timing[64];
  std::snprintf(timing, sizeof timing, "app;dur=%.3f", ms);
  res.set("Server-Timing", timing);
  return res;
}

HttpResponse Dashboard::handle_timed(const HttpRequest& req) {
  const std::string_view raw(req.target().data(), req.target().size());
  const auto target = parse_target(raw);
  if (!target) return text(req, http::status::bad_request, "bad request target\n");
  const auto header = [&](http::field f) {
    const auto v = req[f];
    return std::string_view(v.data(), v.size());
  };
  const auto auth = authorize(token_, header(http::field::authorization), header(http::field::cookie), *target,
                              raw.substr(0, raw.find('?')));
  if (auth.outcome == AuthOutcome::denied) {
    auto res = text(req, http::status::unauthorized,
                    "unauthorized: send Authorization: Bearer TOKEN, or open this page once with ?token=TOKEN\n");
    res.set(http::field::www_authenticate, "Bearer realm=\"beacon-dashboard\"");
    return res;
  }
  if (auth.outcome == AuthOutcome::login) {
    auto res = text(req, http::status::see_other, "logged in\n");
    res.set(http::field::location, auth.location);
    res.set(http::field::set_cookie, login_cookie(token_));
    return res;
  }
  if (req.method() != http::verb::get) {
    auto res = text(req, http::status::method_not_allowed, "method not allowed: the dashboard is read-only\n");
    res.set(http::field::allow, "GET");
    return res;
  }
  try {
    return route(req, *target);
  } catch (const db::DatabaseUnavailable& e) {
    conn_.reset();  // dead for good: the next request connects again
    spdlog::warn("dashboard: database unavailable: {}", e.what());
    return json_error(req, http::status::service_unavailable, "database unavailable");
  } catch (const pqxx::broken_connection& e) {
    conn_.reset();
    spdlog::warn("dashboard: database connection lost: {}", e.what());
    return json_error(req, http::status::service_unavailable, "database unavailable");
  }
}

HttpResponse Dashboard::route(const HttpRequest& req, const Target& t) {
  const auto& s = t.segments;
  if (s.empty()) return page(req, "index.html");
  if (s[0] == "healthz" && s.size() == 1) return text(req, http::status::ok, "ok\n");
  if (s[0] == "readyz" && s.size() == 1) {
    ping(conn());
    return text(req, http::status::ok, "ready\n");
  }
  if (s[0] == "assets" && s.size() == 2) {
    const auto a = find_asset(s[1]);
    if (!a) return text(req, http::status::not_found, "not found\n");
    return respond(req, http::status::ok, a->content_type, std::string(a->body));
  }
  if (s[0] == "api") return api(req, t);
  if (s[0] == "jobs" && s.size() >= 2 && is_valid_id(s[1])) {
    if (s.size() == 2) return page(req, "job.html");
    if (s.size() == 3 && s[2] == "execution") return page(req, "execution.html");
    if (s.size() == 3 && s[2] == "report") return page(req, "report.html");
  }
  return text(req, http::status::not_found, "not found\n");
}

HttpResponse Dashboard::api(const HttpRequest& req, const Target& t) {
  const auto& s = t.segments;
  if (s.size() < 2 || s[1] != "jobs" || s.size() > 4) return json_error(req, http::status::not_found, "not found");
  if (s.size() == 2) {
    const auto limit = non_negative_int(param(t, "limit").empty() ? "20" : param(t, "limit"), 200);
    if (!limit || *limit == 0) return json_error(req, http::status::bad_request, "limit must be 1..200");
    return json_body(req, render_job_list_json(read_recent_jobs(conn(), *limit)));
  }
  const std::string& job_id = s[2];
  if (!is_valid_id(job_id)) return json_error(req, http::status::not_found, "unknown job");
  if (s.size() == 4 && s[3] == "matrix") return matrix(req, t, job_id);
  const auto job = read_job(conn(), job_id);
  if (!job) return json_error(req, http::status::not_found, "unknown job '" + job_id + "'");
  if (s.size() == 3) return json_body(req, render_job_json(*job));

  const std::string& what = s[3];
  if (what == "execution") {
    std::string why;
    const auto key = key_of(job_id, t, why);
    if (!key) return json_error(req, http::status::bad_request, why);
    const auto detail = read_execution(conn(), *key);
    if (!detail) return json_error(req, http::status::not_found, "no such execution");
    return json_body(req, render_execution_json(*detail));
  }
  if (what == "report") {
    if (job->job.counts.total > kMaxReportExecutions)
      return json_error(req, http::status::unprocessable_entity,
                        "the web report reads every row; this job has " + std::to_string(job->job.counts.total) +
                            " executions (limit " + std::to_string(kMaxReportExecutions) +
                            "): run beacon-producer report " + job_id);
    auto it = report_cache_.find(job_id);
    if (it == report_cache_.end() || it->second.version != job->version) {
      if (report_cache_.size() >= 8) report_cache_.clear();
      it = report_cache_.insert_or_assign(job_id, Cached{job->version, views::render_report_json(read_report(conn(), job_id))}).first;
    }
    return json_body(req, it->second.body);
  }
  return json_error(req, http::status::not_found, "not found");
}

// The cells of a job (or of one question's page), shared by every viewer: a
// cached rendering is answered after one primary-key read of the job's version.
HttpResponse Dashboard::matrix(const HttpRequest& req, const Target& t, const std::string& job_id) {
  std::optional<std::string> question;
  if (t.query.count("question")) question = param(t, "question");
  const auto offset = non_negative_int(param(t, "offset").empty() ? "0" : param(t, "offset"), 100000000);
  if (!offset) return json_error(req, http::status::bad_request, "offset must be a number >= 0");
  const std::string key = job_id + "\n" + question.value_or("\x01") + "\n" + std::to_string(*offset);
  const auto version = job_version(conn(), job_id);
  if (!version) return json_error(req, http::status::not_found, "unknown job '" + job_id + "'");
  auto it = matrix_cache_.find(key);
  if (it != matrix_cache_.end() && it->second.version == *version) return json_body(req, it->second.body);
  const auto job = read_job(conn(), job_id);
  if (!job) return json_error(req, http::status::not_found, "unknown job '" + job_id + "'");
  if (matrix_cache_.size() >= kMaxCacheEntries) matrix_cache_.clear();
  // Stored under the version read with the rows: a move in between makes the next poll read again.
  it = matrix_cache_.insert_or_assign(key, Cached{job->version, render_matrix_json(read_matrix(conn(), *job, question, *offset))}).first;
  return json_body(req, it->second.body);
}

}  // namespace beacon::dashboard
