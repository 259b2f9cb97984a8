#pragma once
// beacon-dashboard's routes (docs/dashboard.md):
//   GET /                          recent jobs            (assets/index.html)
//   GET /jobs/<id>                 one job, live          (assets/job.html)
//   GET /jobs/<id>/execution?region=R&model=M&question=Q&sample=S   one execution (assets/execution.html)
//   GET /jobs/<id>/report          refusal heat map       (assets/report.html)
//   GET /assets/<file>             styles and scripts
//   GET /api/jobs, /api/jobs/<id>, /api/jobs/<id>/matrix[?question=Q&offset=N],
//       /api/jobs/<id>/execution?..., /api/jobs/<id>/report   JSON
//   GET /healthz, /readyz          probes (never need the token)
// Pages are static: their scripts fetch the JSON, and put every value into the
// page as text (textContent), never as markup. Every answer carries a
// Content-Security-Policy that allows scripts from this server only (no inline
// script, no eval), so a model's answer can never run as code.
//
// Runs on the HTTP server's one thread (metrics::HttpServer): the database
// connection and the caches below are used by that thread only.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <pqxx/connection>

#include <beacon/dashboard/request_parts.hpp>
#include <beacon/metrics/bounded_http_server.hpp>

namespace beacon::dashboard {

inline constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

// The web report reads every row of the job on the server's one thread; above
// this many executions it is refused with a pointer to `beacon-producer report`.
inline constexpr std::int64_t kMaxReportExecutions = 200000;

using ConnectFn = std::function<std::unique_ptr<pqxx::connection>()>;

class Dashboard {
 public:
  // `connect` opens a database connection (throws db::DatabaseUnavailable);
  // called lazily, and again after a connection was lost.
  Dashboard(std::string token, ConnectFn connect);

  metrics::HttpResponse handle(const metrics::HttpRequest& req);

 private:
  struct Cached {
    std::int64_t version = 0;
    std::string body;
  };

  metrics::HttpResponse handle_timed(const metrics::HttpRequest& req);
  pqxx::connection& conn();
  metrics::HttpResponse route(const metrics::HttpRequest& req, const Target& target);
  metrics::HttpResponse api(const metrics::HttpRequest& req, const Target& target);
  metrics::HttpResponse matrix(const metrics::HttpRequest& req, const Target& target, const std::string& job_id);

  std::string token_;
  ConnectFn connect_;
  std::unique_ptr<pqxx::connection> conn_;
  // Keyed by job (and question page): the body as of a job version. Every
  // viewer of a job shares one read per change of its counters.
  std::map<std::string, Cached> matrix_cache_, report_cache_;
};

}  // namespace beacon::dashboard
