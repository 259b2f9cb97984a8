#include <beacon/dashboard/server.hpp>

#include <chrono>
#include <cstdio>
#include <system_error>
#include <thread>

#include <spdlog/spdlog.h>

#include <beacon/core/stop_signal.hpp>
#include <beacon/dashboard/routes.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/metrics/bounded_http_server.hpp>

namespace beacon::dashboard {

int run_dashboard(const DashboardConfig& config) {
  db::ConnectOptions co;
  co.application_name = "beacon-dashboard";
  co.connect_timeout_s = 5;  // a request waits at most this long for a database that is away
  Dashboard dashboard(config.token, [url = config.database_url, co] { return db::connect(url, co); });

  metrics::HttpServerOptions o;
  o.name = "dashboard";
  o.host = config.host;
  o.port = config.port;
  o.max_connections = kMaxConnections;
  metrics::HttpServer server(o, [&dashboard](const metrics::HttpRequest& req) { return dashboard.handle(req); });
  try {
    server.start();
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "beacon-dashboard: %s: %s\n", e.what(), e.code().message().c_str());
    return 2;
  }
  // The one line scripts wait for (demo.sh, the tests): where to point a browser.
  std::printf("beacon-dashboard listening on http://%s/\n", server.address().c_str());
  std::fflush(stdout);
  spdlog::info("dashboard on http://{}/ ({}; database {})", server.address(),
               config.token.empty() ? "no token" : "bearer token required",
               db::describe_target(config.database_url));
  while (!stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info("dashboard: stop requested; closing connections");
  server.stop();
  return 0;
}

}  // namespace beacon::dashboard
