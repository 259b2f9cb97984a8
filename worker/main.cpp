// beacon-worker: thin main; the loop lives in worker.cpp.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include <beacon/amqp/broker_config.hpp>
#include <beacon/core/cli.hpp>
#include <beacon/core/ids.hpp>
#include <beacon/core/logging.hpp>
#include <beacon/core/stop_signal.hpp>
#include <beacon/db/url_redaction.hpp>
#include <beacon/metrics/http_server.hpp>

#include "reload_signal.hpp"
#include "worker.hpp"

namespace {

constexpr const char* kHelp = R"(usage: beacon-worker --region REGION [options]

Consumes beacon.exec.REGION, calls the inference endpoint configured for the
region and the message's model, and publishes started / completed / failed
events. Acks a message only after its terminal event is confirmed by the
broker. Runs until SIGTERM or SIGINT: then stops taking messages, lets
in-flight requests finish (up to --drain-timeout-s), requeues the rest and
exits 0 -- at most --drain-timeout-s + 10 s after the signal. Reconnects to
the broker by itself (backoff 0.2 s doubling to 10 s, full jitter). Run as
many per region as the endpoints can keep busy. SIGHUP re-reads the endpoint
file and applies its rate limits and in-flight caps (a bad file keeps the
current ones; the log says why).

options:
  --region R            region whose queue to consume (required)
  --concurrency N       messages held and requests in flight at once (default 32)
  --endpoints FILE      endpoint file (env BEACON_ENDPOINTS)
  --worker-id ID        name in events and logs (default HOST-PID)
  --drain-timeout-s S   on SIGTERM, time for in-flight requests (default 60)
  --metrics-addr H:P    serve /metrics, /healthz, /readyz (env BEACON_METRICS_ADDR)
  --log-format F        text (default) or json
  --log-level L         trace, debug, info (default), warn, error, critical, off
  --help                this text

environment:
  BEACON_AMQP_URL       broker (default amqp://guest:guest@localhost:5672); a comma-separated
                        list of cluster nodes fails over between them (docs/multi-machine.md)
  BEACON_AMQP_NODE_ORDER   random (default) or listed: which node of the list first
  BEACON_AMQP_CA_FILE   CA for amqps:// (default: the system's); BEACON_AMQP_CERT_FILE and
                        BEACON_AMQP_KEY_FILE: optional client certificate
  BEACON_QUORUM_GROUP_SIZE replicas per quorum queue (default: the broker's, every node)
  BEACON_DATABASE_URL   optional: lets the worker skip redelivered messages whose
                        execution is already completed (no second GPU call); needed for
                        requests_per_minute / tokens_per_minute to hold fleet-wide
  BEACON_ENDPOINTS      endpoint file, when --endpoints is not given
  BEACON_QUEUE_TYPE     quorum (default) or classic
  BEACON_DELIVERY_LIMIT deliveries of one message before the broker dead-letters it (default 5)
  BEACON_AMQP_HEARTBEAT_S  AMQP heartbeat in seconds (default 30, 0 = off); requests may run
                        far longer: the owner thread keeps the connection alive meanwhile
  BEACON_METRICS_ADDR   host:port for /metrics, when --metrics-addr is not given
  API keys              read from the variables named by api_key_env in the endpoint file

exit codes: 0 stopped by SIGTERM/SIGINT after draining, 2 bad flag, variable or endpoint file
(named in the message, checked before anything starts), 1 an unexpected error (logged)
)";

std::string default_worker_id() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}

// An address for --metrics-addr / BEACON_METRICS_ADDR, checked now rather
// than when the server starts (then only a log line would say so).
void check_metrics_addr(const std::string& addr, const char* what) {
  if (addr.empty()) return;
  try {
    beacon::metrics::parse_host_port(addr);
  } catch (const std::invalid_argument& e) {
    throw beacon::BadInput(std::string(what) + ": " + e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace beacon;
  WorkerOptions o;
  try {
    // Every flag and variable is checked here, before anything starts: a
    // value the worker does not know is exit 2 naming it (issue 8 item 14).
    CliArgs args(argc, argv, 1,
                 {"--region", "--concurrency", "--endpoints", "--worker-id", "--drain-timeout-s", "--metrics-addr",
                  "--log-format", "--log-level"},
                 {"--help"});
    if (args.has("--help")) {
      std::cout << kHelp;
      return 0;
    }
    const LogFormat log_format = parse_log_format("--log-format", args.get_or("--log-format", "text"));
    const std::string log_level = parse_log_level("--log-level", args.get_or("--log-level", "info"));
    if (!args.positionals().empty()) throw BadInput("unexpected argument '" + args.positionals().front() + "'");
    o.region = args.get_or("--region", "");
    if (o.region.empty()) throw BadInput("--region is required");
    if (!is_valid_id(o.region)) throw BadInput("--region '" + o.region + "' does not match [A-Za-z0-9._:-]{1,128}");
    o.concurrency = static_cast<int>(args.get_int("--concurrency", 32, 1, 10000));
    o.endpoints_file = args.get_or("--endpoints", env_or("BEACON_ENDPOINTS", ""));
    if (o.endpoints_file.empty()) throw BadInput("no endpoint file: give --endpoints or set BEACON_ENDPOINTS");
    o.worker_id = args.get_or("--worker-id", default_worker_id());
    if (o.worker_id.empty()) throw BadInput("--worker-id must not be empty");
    o.drain_timeout = std::chrono::seconds(args.get_int("--drain-timeout-s", 60, 1, 3600));
    if (auto flag = args.get("--metrics-addr")) {
      check_metrics_addr(*flag, "--metrics-addr");
      o.metrics_addr = *flag;
    } else {
      o.metrics_addr = env_or("BEACON_METRICS_ADDR", "");
      check_metrics_addr(o.metrics_addr, "BEACON_METRICS_ADDR");
    }
    const amqp::BrokerConfig broker = amqp::broker_config_from_env();
    o.amqp_url = broker.url;
    o.amqp_node_order = broker.node_order;
    o.amqp_tls = broker.tls;
    o.heartbeat_s = broker.heartbeat_s;
    o.database_url = env_or("BEACON_DATABASE_URL", "");
    if (!o.database_url.empty()) db::validate_database_url(o.database_url, "BEACON_DATABASE_URL");
    setup_logging("worker", log_format, log_level);
  } catch (const BadInput& e) {
    std::fprintf(stderr, "beacon-worker: %s\n", e.what());
    return 2;
  }
  try {
    install_stop_signals();
    install_reload_signal();
    return run_worker(o);
  } catch (const std::exception& e) {
    // Nothing the worker holds is lost by exiting: unacked messages return to
    // the queue. Exiting non-zero lets the supervisor restart it.
    spdlog::critical("unexpected error, exiting: {} (worker {} region {})", e.what(), o.worker_id, o.region);
    return 1;
  }
}
