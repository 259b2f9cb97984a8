#include <cstdio>
#include <iostream>

#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include <beacon/amqp/topology.hpp>
#include <beacon/core/cli.hpp>
#include <beacon/core/control_message.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/jobs_repo.hpp>

#include "commands.hpp"
#include "database.hpp"

namespace beacon::producer {

int cancel(int argc, char** argv) {
  CliArgs args(argc, argv, 2, {}, {"--help"});
  if (args.has("--help") || args.positionals().size() != 1) {
    std::cout << "usage: beacon-producer cancel JOB_ID\n"
                 "Marks the job cancelled in Postgres (pending executions become cancelled) and tells the\n"
                 "workers on the control exchange; they drop the job's queued messages without calling\n"
                 "the endpoint. Requests already running finish and are recorded.\n";
    return args.has("--help") ? kExitOk : kExitBadInput;
  }
  auto job_id = args.positionals()[0];
  auto conn = connect_database();
  const auto outcome = db::cancel_job(*conn, job_id);
  if (!outcome) {
    std::fprintf(stderr, "beacon-producer cancel: unknown job '%s'\n", job_id.c_str());
    return kExitBadInput;
  }
  if (!outcome->cancelled_now) {
    // Nothing is left to stop: say so, change nothing, tell no worker.
    std::fprintf(stderr, "beacon-producer cancel: job %s has already finished (%s); nothing to cancel\n",
                 job_id.c_str(), outcome->status.c_str());
    std::printf("{\"job_id\":\"%s\",\"status\":\"%s\",\"cancelled\":false}\n", job_id.c_str(),
                outcome->status.c_str());
    return kExitOk;
  }
  // The database is the truth (workers also look there); the broadcast makes
  // workers drop queued messages at once instead of within their cache time.
  try {
    amqp::ClientOptions options;
    options.url = amqp::amqp_url_from_env();
    options.connection_name = "beacon-producer cancel";
    options.node_order = amqp::node_order_from_env();  // these two checked by main before anything started
    options.tls = amqp::tls_files_from_env();
    amqp::Client client(options);
    client.connect();
    amqp::declare_core(client, amqp::topology_options_from_env());
    amqp::PublishProps props;
    props.mandatory = false;  // no worker running is fine
    // The notice names the submission it cancels: a later re-submit's
    // messages are never touched (core/control_message.hpp).
    client.publish(std::string(amqp::kControlExchange), "", encode(CancelNotice{job_id, outcome->submission}), props);
    client.wait_for_confirms(std::chrono::steady_clock::now() + std::chrono::seconds(30));
    client.close();
  } catch (const amqp::AmqpError& e) {
    std::fprintf(stderr,
                 "beacon-producer cancel: job %s is cancelled in the database, but the broker was unreachable "
                 "(%s); workers will notice within seconds from the database\n",
                 job_id.c_str(), e.what());
  }
  std::printf("{\"job_id\":\"%s\",\"status\":\"cancelled\",\"cancelled\":true}\n", job_id.c_str());
  return kExitOk;
}

}  // namespace beacon::producer
