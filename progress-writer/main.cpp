// beacon-progress-writer: thin main; the loop lives in writer.cpp.
#include <cstdio>
#include <iostream>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include <beacon/amqp/broker_config.hpp>
#include <beacon/core/cli.hpp>
#include <beacon/core/logging.hpp>
#include <beacon/core/stop_signal.hpp>
#include <beacon/db/url_redaction.hpp>
#include <beacon/metrics/http_server.hpp>

#include "writer.hpp"

namespace {

constexpr const char* kHelp = R"(usage: beacon-progress-writer [options]

Consumes result events from the queue beacon.results and upserts them into
Postgres in batches, acknowledging each batch only after it committed.
Runs until SIGTERM or SIGINT, then finishes the current batch and exits 0
within --drain-timeout-s (events Postgres did not take by then are put
back in the queue as fresh copies). SQL runs on a thread of its own, so a
frozen database never costs the broker connection. Broker or database outages are waited out with
capped, jittered backoff (broker 0.2 s doubling to 10 s, database to 5 s),
keeping the batch unacked; they never make it exit.

options:
  --batch-size N        events per transaction at most (default 500)
  --batch-wait-ms MS    longest an event waits for its batch (default 100)
  --drain-timeout-s S   on SIGTERM, time allowed to finish the batch (default 30)
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
  BEACON_DATABASE_URL   libpq URL of the database (required)
  BEACON_QUEUE_TYPE     quorum (default) or classic
  BEACON_DELIVERY_LIMIT deliveries of one message before the broker dead-letters it (default 5)
  BEACON_AMQP_HEARTBEAT_S  AMQP heartbeat in seconds (default 30, 0 = off)
  BEACON_METRICS_ADDR   host:port for /metrics, when --metrics-addr is not given

exit codes: 0 stopped by SIGTERM/SIGINT, 2 bad flag or variable (named in the message,
checked before anything starts), 1 an unexpected error (logged)
)";

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
  WriterOptions o;
  try {
    // Every flag and variable is checked here, before anything starts: a
    // value the writer does not know is exit 2 naming it (issue 8 item 14),
    // never a reconnect loop that logs the same error every few seconds.
    CliArgs args(argc, argv, 1, {"--batch-size", "--batch-wait-ms", "--drain-timeout-s", "--metrics-addr", "--log-format", "--log-level"},
                 {"--help"});
    if (args.has("--help")) {
      std::cout << kHelp;
      return 0;
    }
    const LogFormat log_format = parse_log_format("--log-format", args.get_or("--log-format", "text"));
    const std::string log_level = parse_log_level("--log-level", args.get_or("--log-level", "info"));
    if (!args.positionals().empty()) throw BadInput("unexpected argument '" + args.positionals().front() + "'");
    const amqp::BrokerConfig broker = amqp::broker_config_from_env();
    o.amqp_url = broker.url;
    o.amqp_node_order = broker.node_order;
    o.amqp_tls = broker.tls;
    o.heartbeat_s = broker.heartbeat_s;
    o.database_url = env_or("BEACON_DATABASE_URL", "");
    if (o.database_url.empty()) throw BadInput("BEACON_DATABASE_URL is not set");
    db::validate_database_url(o.database_url, "BEACON_DATABASE_URL");
    o.batch_max = static_cast<std::size_t>(args.get_int("--batch-size", 500, 1, 10000));
    o.batch_wait = std::chrono::milliseconds(args.get_int("--batch-wait-ms", 100, 1, 60000));
    o.drain_timeout = std::chrono::seconds(args.get_int("--drain-timeout-s", 30, 1, 3600));
    if (auto flag = args.get("--metrics-addr")) {
      check_metrics_addr(*flag, "--metrics-addr");
      o.metrics_addr = *flag;
    } else {
      o.metrics_addr = env_or("BEACON_METRICS_ADDR", "");
      check_metrics_addr(o.metrics_addr, "BEACON_METRICS_ADDR");
    }
    setup_logging("progress-writer", log_format, log_level);
  } catch (const BadInput& e) {
    std::fprintf(stderr, "beacon-progress-writer: %s\n", e.what());
    return 2;
  }
  try {
    install_stop_signals();
    return run_progress_writer(o);
  } catch (const std::exception& e) {
    // The batch it held was not acked, so the broker redelivers it; exiting
    // non-zero lets the supervisor restart the writer.
    spdlog::critical("unexpected error, exiting: {} (batch unacked, it will be redelivered)", e.what());
    return 1;
  }
}
