#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <sstream>

#include <spdlog/spdlog.h>

#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include <beacon/core/cli.hpp>
#include <beacon/core/clock.hpp>
#include <beacon/core/plan_stream.hpp>
#include <beacon/core/spec.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/jobs_repo.hpp>
#include <beacon/db/submit_lanes.hpp>

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

// Fair share: the regions where this job gets its own queue (a lane), their
// job_lanes rows committed before anything is published, so workers learn of
// a lane no later than of its first message.
std::vector<std::string> lane_regions(pqxx::connection& conn, const JobSpec& spec) {
  std::vector<std::string> regions;
  for (const auto& lane : db::assign_lanes(conn, spec)) {
    spdlog::info("job {} region {}: {}, weight {}", spec.job_id, lane.region, db::describe(lane.reason, spec.priority),
                 lane.weight);
    regions.push_back(lane.region);
  }
  return regions;
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

int submit(int argc, char** argv) {
  CliArgs args(argc, argv, 2, {"--job-id", "--questions"}, {"--help"});
  if (args.has("--help") || args.positionals().size() != 1) {
    std::cout << "usage: beacon-producer submit SPEC.json [--job-id ID] [--questions FILE]\n"
                 "Validates the spec, registers the job and its executions in Postgres, and enqueues\n"
                 "one message per execution (with publisher confirms), streamed in chunks of\n"
                 "20,000. Re-submitting a job id enqueues only executions not completed yet (also\n"
                 "after a submit that was killed midway); a different spec under the same id is refused.\n"
                 "--questions FILE takes the questions from a .jsonl ({\"id\",\"prompt\"} per line) or\n"
                 ".csv (header id,prompt) file instead of the spec's questions / questions_file.\n"
                 "Prints {\"job_id\",\"total\",\"enqueued\",\"skipped\"}.\n";
    return args.has("--help") ? kExitOk : kExitBadInput;
  }
  // Everything about the input is checked before anything is written.
  const std::string spec_path = args.positionals()[0];
  auto spec = parse_job_spec(read_spec_file(spec_path), directory_of(spec_path));
  if (auto file = args.get("--questions")) {
    spec.questions_file.reset();  // the flag wins over the spec's questions_file
    use_questions_file(spec, *file);
  }
  if (auto id = args.get("--job-id")) {
    if (!is_valid_id(*id)) throw SpecError("--job-id", "'" + *id + "' does not match [A-Za-z0-9._:-]{1,128}");
    spec.job_id = *id;
  }
  if (spec.job_id.empty()) spec.job_id = generate_job_id();
  const auto confirm_timeout = submit_confirm_timeout_from_env();  // bad value: exit 2 before anything is written

  auto conn = connect_database();
  // The job row first (this is also where a database not migrated yet is
  // found, before the broker is touched); no execution row exists before the
  // broker is reached.
  const std::string now = now_rfc3339();
  const db::SubmitStart start = db::begin_submit(*conn, spec, now);
  auto lanes = lane_regions(*conn, spec);
  EnqueueOptions eo;
  eo.amqp_url = amqp::amqp_url_from_env();
  eo.confirm_timeout = confirm_timeout;
  std::unique_ptr<Enqueuer> enqueuer;
  try {
    enqueuer = std::make_unique<Enqueuer>(eo, spec.regions, spec.job_id, std::move(lanes));
  } catch (const amqp::AmqpError& e) {
    std::fprintf(stderr,
                 "beacon-producer submit: broker unreachable: %s\n"
                 "job %s is registered; run the same submit again to enqueue its executions\n",
                 e.what(), spec.job_id.c_str());
    return kExitUnreachable;
  }

  // Chunk by chunk: rows committed, then their messages published and
  // confirmed. Registering chunk k+1 (a worker thread, the only user of the
  // plan and of the database connection meanwhile) overlaps publishing chunk
  // k, so a submit takes about the longer of the two, not their sum. Killed
  // anywhere, the same submit again finishes the job (begin_submit's resume).
  PlanStream plan(spec, start.submission, now);
  struct Prepared {
    bool done = false;          // the plan is exhausted
    std::size_t planned = 0;    // executions in the chunk
    std::vector<ExecutionMessage> to_send;
    std::chrono::steady_clock::duration took{};
  };
  PlanChunk chunk;
  auto prepare = [&]() {
    Prepared p;
    const auto t0 = std::chrono::steady_clock::now();
    if (!plan.next(db::kRegisterChunk, chunk)) {
      p.done = true;
      return p;
    }
    p.planned = chunk.messages.size();
    const auto open = db::register_chunk(*conn, spec.job_id, start, chunk);
    p.to_send.reserve(open.size());
    for (auto i : open) p.to_send.push_back(std::move(chunk.messages[i]));
    p.took = std::chrono::steady_clock::now() - t0;
    return p;
  };
  std::size_t confirmed = 0, unconfirmed = 0, skipped = 0;
  std::chrono::steady_clock::duration db_time{}, broker_time{};  // where a big submit's time goes
  Prepared current = prepare();
  while (!current.done) {
    auto next = std::async(std::launch::async, prepare);
    db_time += current.took;
    skipped += current.planned - current.to_send.size();
    const auto t0 = std::chrono::steady_clock::now();
    const EnqueueResult sent = enqueuer->send(current.to_send);
    broker_time += std::chrono::steady_clock::now() - t0;
    confirmed += sent.confirmed;
    unconfirmed += sent.unconfirmed;
    current = next.get();
    if (enqueuer->gave_up()) {
      // Nothing more is published: the chunk registered meanwhile and the
      // rest of the plan (not registered) are left to the re-run.
      if (!current.done) unconfirmed += current.to_send.size();
      unconfirmed += start.total - plan.produced();
      break;
    }
  }
  enqueuer.reset();
  using secs = std::chrono::duration<double>;
  spdlog::info("job {}: {} executions planned, registering took {:.1f} s, publishing and confirms {:.1f} s "
               "(overlapped)",
               spec.job_id, plan.produced(), secs(db_time).count(), secs(broker_time).count());
  std::printf("{\"job_id\":\"%s\",\"total\":%zu,\"enqueued\":%zu,\"skipped\":%zu}\n", spec.job_id.c_str(),
              start.total, confirmed, skipped);
  std::fflush(stdout);
  if (unconfirmed > 0) {
    std::fprintf(stderr,
                 "beacon-producer submit: %zu messages were not confirmed by the broker; "
                 "run the same submit again to enqueue them\n",
                 unconfirmed);
    return kExitUnconfirmed;
  }
  return kExitOk;
}

}  // namespace beacon::producer
