// beacon-producer: registers jobs, enqueues their executions and reads
// progress back from Postgres. Thin dispatch; one file per subcommand.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include <pqxx/except>
#include <spdlog/spdlog.h>

#include <beacon/amqp/broker_config.hpp>
#include <beacon/core/cli.hpp>
#include <beacon/core/errors.hpp>
#include <beacon/core/logging.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/url_redaction.hpp>

#include "commands.hpp"

namespace {

constexpr const char* kHelp = R"(usage: beacon-producer COMMAND [args]

commands:
  migrate                      apply migrations/ in order (idempotent, safe concurrently)
  submit SPEC.json [--job-id ID] [--questions FILE]
                               register the job and enqueue one message per execution;
                               re-submitting a job id enqueues only what is not completed;
                               questions from a .jsonl or .csv file with --questions
  status [JOB_ID] [--json] [--watch] [--by question|region|model] [--matrix] [--interval-s S]
                               progress; without JOB_ID, the recent jobs
  cancel JOB_ID                mark the job cancelled; workers drop its queued messages
  export JOB_ID [--status S]   one JSON line per execution (responses.jsonl)
  report JOB_ID [--json]       cross-region comparison: refusal rates, answer length, divergence

exit codes: 0 ok, 2 bad input (a bad flag, spec or environment variable: nothing written,
            nothing enqueued) or unknown job, 3 broker or database unreachable, or the database
            not migrated yet (run `beacon-producer migrate` first), 4 submit: messages left
            unconfirmed by the broker, 1 an unexpected error (a bug: the message says what)

environment:
  BEACON_DATABASE_URL   libpq URL of the database (required)
  BEACON_AMQP_URL       broker (default amqp://guest:guest@localhost:5672); a comma-separated
                        list of cluster nodes fails over between them (docs/multi-machine.md)
  BEACON_AMQP_NODE_ORDER   random (default) or listed: which node of the list first
  BEACON_AMQP_CA_FILE   CA for amqps:// (default: the system's); BEACON_AMQP_CERT_FILE and
                        BEACON_AMQP_KEY_FILE: optional client certificate
  BEACON_QUORUM_GROUP_SIZE replicas per quorum queue (default: the broker's, every node)
  BEACON_QUEUE_TYPE     quorum (default) or classic, as the workers use
  BEACON_AMQP_HEARTBEAT_S  AMQP heartbeat in seconds while submit publishes (default 30)
  BEACON_SUBMIT_CONFIRM_TIMEOUT_S  how long submit waits for confirms, or for a broker that blocked
                        publishing (memory or disk alarm), before exit 4 (default 60)
  BEACON_MIGRATIONS_DIR where migrate finds the .sql files (default: found next to the binary or source)
Run `beacon-producer COMMAND --help` for a command's options.
)";

// Every variable the command will read, checked before it touches the
// database or the broker: a bad BEACON_AMQP_URL must not surface in submit
// after the job was registered, or in cancel after the job was cancelled.
void check_configuration(const std::string& cmd) {
  if (const auto url = beacon::env_or("BEACON_DATABASE_URL", ""); !url.empty())
    beacon::db::validate_database_url(url, "BEACON_DATABASE_URL");
  if (cmd == "submit" || cmd == "cancel") beacon::amqp::broker_config_from_env();
}

bool wants_help(int argc, char** argv) {
  for (int i = 2; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help")) return true;
  return false;
}

// A table, column or function missing: the schema is older than this binary.
bool schema_missing(const pqxx::sql_error& e) {
  const std::string state = e.sqlstate();
  return state == "42P01" || state == "42703" || state == "42883";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace beacon;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::cout << kHelp;
    return argc < 2 ? producer::kExitBadInput : 0;
  }
  // Warnings and errors only by default; BEACON_PRODUCER_LOG_LEVEL=info shows
  // e.g. where a big submit's time went.
  try {
    const char* level = std::getenv("BEACON_PRODUCER_LOG_LEVEL");
    setup_logging("producer", LogFormat::text, level != nullptr && *level != '\0' ? level : "warn");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "beacon-producer: BEACON_PRODUCER_LOG_LEVEL: %s\n", e.what());
    return producer::kExitBadInput;
  }
  std::string cmd = argv[1];
  try {
    if (!wants_help(argc, argv)) check_configuration(cmd);
    if (cmd == "migrate") return producer::migrate(argc, argv);
    if (cmd == "submit") return producer::submit(argc, argv);
    if (cmd == "status") return producer::status(argc, argv);
    if (cmd == "cancel") return producer::cancel(argc, argv);
    if (cmd == "export") return producer::export_rows(argc, argv);
    if (cmd == "report") return producer::report(argc, argv);
    std::fprintf(stderr, "beacon-producer: unknown command '%s' (see --help)\n", cmd.c_str());
    return producer::kExitBadInput;
  } catch (const SpecError& e) {
    std::fprintf(stderr, "beacon-producer %s: invalid spec: %s\n", cmd.c_str(), e.what());
    return producer::kExitBadInput;
  } catch (const BadInput& e) {
    std::fprintf(stderr, "beacon-producer %s: %s\n", cmd.c_str(), e.what());
    return producer::kExitBadInput;
  } catch (const db::DatabaseUnavailable& e) {
    std::fprintf(stderr, "beacon-producer %s: database unreachable: %s\n", cmd.c_str(), e.what());
    return producer::kExitUnreachable;
  } catch (const pqxx::broken_connection& e) {
    // Lost after connecting: every statement ran in a transaction, so nothing half-done stays.
    std::fprintf(stderr, "beacon-producer %s: database connection lost: %s\n", cmd.c_str(),
                 db::redact_conninfo_text(e.what(), env_or("BEACON_DATABASE_URL", "")).c_str());
    return producer::kExitUnreachable;
  } catch (const pqxx::sql_error& e) {
    if (schema_missing(e)) {
      std::fprintf(stderr,
                   "beacon-producer %s: the database has no beacon schema or an older one "
                   "(SQLSTATE %s); run beacon-producer migrate first\n",
                   cmd.c_str(), e.sqlstate().c_str());
      return producer::kExitUnreachable;
    }
    std::fprintf(stderr, "beacon-producer %s: unexpected database error (SQLSTATE %s): %s\n", cmd.c_str(),
                 e.sqlstate().c_str(), e.what());
    return producer::kExitInternal;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "beacon-producer %s: unexpected error: %s\n", cmd.c_str(), e.what());
    return producer::kExitInternal;
  }
}
