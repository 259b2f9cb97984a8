// beacon-dashboard: thin main; the routes and pages live in libbeacon/beacon/dashboard.
#include <cstdio>
#include <iostream>

#include <beacon/core/cli.hpp>
#include <beacon/core/logging.hpp>
#include <beacon/core/stop_signal.hpp>
#include <beacon/dashboard/config.hpp>
#include <beacon/dashboard/server.hpp>

namespace {

constexpr const char* kHelp = R"(usage: beacon-dashboard [--log-format text|json] [--log-level L]

A read-only web view of beacon's jobs, reading Postgres only:
  /                     recent jobs
  /jobs/JOB             one job, live: totals, bars by region and model, the matrix
  /jobs/JOB/execution?region=R&model=M&question=Q&sample=S   one execution, and the
                        same question's answers in the other regions
  /jobs/JOB/report      refusal rate per question by region and model (heat map)
  /api/jobs, /api/jobs/JOB[/matrix|/execution|/report]      the same as JSON
  /healthz, /readyz     probes
Runs until SIGTERM or SIGINT, then exits 0.

environment:
  BEACON_DASHBOARD_ADDR   host:port to listen on (default 127.0.0.1:8080; :0 picks a port)
  BEACON_DASHBOARD_TOKEN  bearer token required on every request but the probes;
                          required when the address is not loopback. A browser opens
                          any page once with ?token=TOKEN (kept in a cookie)
  BEACON_DATABASE_URL     Postgres (libpq URL)
exit codes: 0 after SIGTERM/SIGINT, 2 bad configuration or address in use
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace beacon;
  try {
    CliArgs args(argc, argv, 1, {"--log-format", "--log-level"}, {"--help"});
    if (args.has("--help")) {
      std::cout << kHelp;
      return 0;
    }
    const auto format = args.get_or("--log-format", "text");
    if (format != "text" && format != "json") throw BadInput("--log-format must be text or json, not '" + format + "'");
    setup_logging("dashboard", format == "json" ? LogFormat::json : LogFormat::text, args.get_or("--log-level", "info"));
    const auto config = dashboard::make_config(env_or("BEACON_DASHBOARD_ADDR", ""), env_or("BEACON_DASHBOARD_TOKEN", ""),
                                               env_or("BEACON_DATABASE_URL", ""));
    install_stop_signals();
    return dashboard::run_dashboard(config);
  } catch (const BadInput& e) {
    std::fprintf(stderr, "beacon-dashboard: %s\n", e.what());
    return 2;
  }
}
