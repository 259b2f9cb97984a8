#include <cstdio>
#include <iostream>

#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include <beacon/amqp/topology.hpp>
#include <beacon/core/cli.hpp>
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
  if (!db::cancel_job(*conn, job_id)) {
    std::fprintf(stderr, "beacon-producer cancel: unknown job '%s'\n", job_id.c_str());
    return kExitBadInput;
  }
  // The database is the truth (workers also look there); the broadcast makes
  // workers drop queued messages at once instead of within their cache time.
  try {
    amqp::Client client(amqp::ClientOptions{amqp::amqp_url_from_env(),
                                            "beacon-producer cancel"});
    client.connect();
    amqp::declare_core(client, amqp::topology_options_from_env());
    amqp::PublishProps props;
    props.mandatory = false;  // no worker running is fine
    client.publish(std::string(amqp::kControlExchange), "", R"({"v":1,"type":"cancel","job_id":")" + job_id + "\"}", props);
    client.wait_for_confirms(std::chrono::steady_clock::now() + std::chrono::seconds(30));
    client.close();
  } catch (const amqp::AmqpError& e) {
    std::fprintf(stderr,
                 "beacon-producer cancel: job %s is cancelled in the database, but the broker was unreachable "
                 "(%s); workers will notice within seconds from the database\n",
                 job_id.c_str(), e.what());
  }
  std::printf("{\"job_id\":\"%s\",\"status\":\"cancelled\"}\n", job_id.c_str());
  return kExitOk;
}

}  // namespace beacon::producer
