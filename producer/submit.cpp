#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include <beacon/core/cli.hpp>
#include <beacon/core/clock.hpp>
#include <beacon/core/spec.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/jobs_repo.hpp>

#include "commands.hpp"
#include "database.hpp"
#include "enqueue.hpp"

namespace beacon::producer {
namespace {

std::string read_spec_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BadInput("cannot read spec file '" + path + "'");
  // Read one byte past the limit so an oversized file is reported, not truncated.
  std::string buf(kMaxSpecBytes + 1, '\0');
  in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
  buf.resize(static_cast<std::size_t>(in.gcount()));
  if (buf.size() > kMaxSpecBytes) throw SpecError("spec", "file exceeds " + std::to_string(kMaxSpecBytes) + " bytes");
  return buf;
}

}  // namespace

int submit(int argc, char** argv) {
  CliArgs args(argc, argv, 2, {"--job-id"}, {"--help"});
  if (args.has("--help") || args.positionals().size() != 1) {
    std::cout << "usage: beacon-producer submit SPEC.json [--job-id ID]\n"
                 "Validates the spec, registers the job and its executions in Postgres, and enqueues\n"
                 "one message per execution (with publisher confirms). Re-submitting a job id enqueues\n"
                 "only executions not completed yet; a different spec under the same id is refused.\n"
                 "Prints {\"job_id\",\"total\",\"enqueued\",\"skipped\"}.\n";
    return args.has("--help") ? kExitOk : kExitBadInput;
  }
  // Everything about the input is checked before anything is written.
  auto spec = parse_job_spec(read_spec_file(args.positionals()[0]));
  if (auto id = args.get("--job-id")) {
    if (!is_valid_id(*id)) throw SpecError("--job-id", "'" + *id + "' does not match [A-Za-z0-9._:-]{1,128}");
    spec.job_id = *id;
  }
  if (spec.job_id.empty()) spec.job_id = generate_job_id();
  const auto confirm_timeout = submit_confirm_timeout_from_env();  // bad value: exit 2 before anything is written

  auto conn = connect_database();
  auto reg = db::register_job(*conn, spec, now_rfc3339());

  EnqueueOptions eo;
  eo.amqp_url = amqp::amqp_url_from_env();
  eo.confirm_timeout = confirm_timeout;
  EnqueueResult sent;
  try {
    sent = enqueue_all(eo, spec.regions, reg.to_enqueue);
  } catch (const amqp::AmqpError& e) {
    std::fprintf(stderr,
                 "beacon-producer submit: broker unreachable: %s\n"
                 "job %s is registered; run the same submit again to enqueue its executions\n",
                 e.what(), reg.job_id.c_str());
    return kExitUnreachable;
  }
  std::printf("{\"job_id\":\"%s\",\"total\":%zu,\"enqueued\":%zu,\"skipped\":%zu}\n", reg.job_id.c_str(), reg.total,
              sent.confirmed, reg.skipped);
  std::fflush(stdout);
  if (sent.unconfirmed > 0) {
    std::fprintf(stderr,
                 "beacon-producer submit: %zu messages were not confirmed by the broker; "
                 "run the same submit again to enqueue them\n",
                 sent.unconfirmed);
    return kExitUnconfirmed;
  }
  return kExitOk;
}

}  // namespace beacon::producer
