// beacon-progress-writer: thin main; the loop lives in writer.cpp.
#include <cstdio>
#include <iostream>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include <beacon/amqp/client.hpp>
#include <beacon/amqp/topology.hpp>
#include <beacon/core/cli.hpp>
#include <beacon/core/logging.hpp>
#include <beacon/core/stop_signal.hpp>

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
  --log-level L         trace, debug, info (default), warn, error
  --help                this text

environment:
  BEACON_AMQP_URL       broker (default amqp://guest:guest@localhost:5672)
  BEACON_DATABASE_URL   libpq URL of the database (required)
  BEACON_QUEUE_TYPE     quorum (default) or classic
  BEACON_DELIVERY_LIMIT deliveries of one message before the broker dead-letters it (default 5)
  BEACON_AMQP_HEARTBEAT_S  AMQP heartbeat in seconds (default 30, 0 = off)
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace beacon;
  try {
    CliArgs args(argc, argv, 1, {"--batch-size", "--batch-wait-ms", "--drain-timeout-s", "--metrics-addr", "--log-format", "--log-level"},
                 {"--help"});
    if (args.has("--help")) {
      std::cout << kHelp;
      return 0;
    }
    setup_logging("progress-writer", args.get_or("--log-format", "text") == "json" ? LogFormat::json : LogFormat::text,
                  args.get_or("--log-level", "info"));
    WriterOptions o;
    o.amqp_url = amqp::amqp_url_from_env();
    o.database_url = env_or("BEACON_DATABASE_URL", "");
    if (o.database_url.empty()) throw BadInput("BEACON_DATABASE_URL is not set");
    o.batch_max = static_cast<std::size_t>(args.get_int("--batch-size", 500, 1, 10000));
    o.batch_wait = std::chrono::milliseconds(args.get_int("--batch-wait-ms", 100, 1, 60000));
    o.drain_timeout = std::chrono::seconds(args.get_int("--drain-timeout-s", 30, 1, 3600));
    o.metrics_addr = args.get_or("--metrics-addr", env_or("BEACON_METRICS_ADDR", ""));
    try {
      o.heartbeat_s = amqp::heartbeat_s_from_env();
      amqp::topology_options_from_env();  // a bad BEACON_QUEUE_TYPE is exit 2, not a reconnect loop
    } catch (const std::invalid_argument& e) {
      throw BadInput(e.what());
    }
    install_stop_signals();
    return run_progress_writer(o);
  } catch (const BadInput& e) {
    std::fprintf(stderr, "beacon-progress-writer: %s\n", e.what());
    return 2;
  }
}
