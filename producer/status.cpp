#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include <beacon/core/cli.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/progress_queries.hpp>
#include <beacon/views/from_db.hpp>
#include <beacon/views/status_text.hpp>

#include "commands.hpp"
#include "database.hpp"

namespace beacon::producer {
namespace {

struct Snapshot {
  views::JobSummary job;
  std::vector<views::GroupRow> groups;
  bool finished = false;
};

std::optional<Snapshot> load(pqxx::connection& conn, const std::string& job_id, db::Group by, double stall_after_s) {
  auto p = db::load_job(conn, job_id, stall_after_s);
  if (!p) return std::nullopt;
  Snapshot s;
  s.finished = p->finished();
  s.job = views::to_summary(*p);
  std::int64_t refused = 0;
  for (const auto& g : db::load_groups(conn, job_id, by)) {
    refused += g.refused;
    s.groups.push_back(views::to_group_row(g));
    s.job.spend.add(s.groups.back().spend);  // every execution is in exactly one group of a dimension
  }
  s.job.counts.refused = refused;
  s.job.reused = static_cast<long>(db::load_reused(conn, job_id));
  return s;
}

const char* group_title(db::Group g) {
  switch (g) {
    case db::Group::question: return "questions";
    case db::Group::region: return "regions";
    case db::Group::model: return "models";
  }
  return "questions";
}

std::string one_line(const views::JobSummary& j) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s %s %ld/%ld (%.1f%%) completed %ld failed %ld running %ld", j.job_id.c_str(),
                j.status.c_str(), j.counts.done(), j.counts.total, j.counts.percent(), j.counts.completed,
                j.counts.failed, j.counts.running);
  std::string line = buf;
  if (j.eta_s) line += " ETA " + views::format_duration(*j.eta_s);
  return line + "\n";
}

}  // namespace

int status(int argc, char** argv) {
  CliArgs args(argc, argv, 2, {"--by", "--interval-s", "--stall-after-s", "--limit"},
               {"--json", "--watch", "--matrix", "--help"});
  if (args.has("--help") || args.positionals().size() > 1) {
    std::cout << "usage: beacon-producer status [JOB_ID] [--json] [--watch] [--by question|region|model]\n"
                 "                             [--matrix] [--interval-s S] [--stall-after-s S] [--limit N]\n"
                 "Progress read from Postgres: totals, percent, elapsed, ETA and a line per question\n"
                 "(✅ done · ❌ done with failures · ⏳ in progress · ⏸️ not started).\n"
                 "Without JOB_ID: the most recent jobs, one line each (--limit N, default 20).\n"
                 "  --watch          refresh until the job is finished, then print the final table and exit;\n"
                 "                   redraws in place on a terminal, prints one line per refresh otherwise\n"
                 "  --by G           group lines by question (default), region or model\n"
                 "  --matrix         question × model × region, one mark per execution\n"
                 "  --json           one JSON object (with --watch: one per refresh)\n"
                 "  --interval-s     seconds between refreshes with --watch (default 1)\n"
                 "  --stall-after-s  warn that the job is stalled when no execution finished for this\n"
                 "                   long while work remains (default 300)\n"
                 "exit codes: 0 ok, 2 unknown job, 3 database unreachable\n";
    return args.has("--help") ? kExitOk : kExitBadInput;
  }
  auto stall_after_s = static_cast<double>(args.get_int("--stall-after-s", 300, 1, 86400 * 7));
  auto conn = connect_database();
  if (args.positionals().empty()) {
    std::vector<views::JobSummary> jobs;
    for (const auto& p : db::recent_jobs(*conn, static_cast<int>(args.get_int("--limit", 20, 1, 10000))))
      jobs.push_back(views::to_summary(p));
    std::cout << views::render_job_list(jobs) << std::flush;
    return kExitOk;
  }
  auto job_id = args.positionals()[0];
  auto by_name = args.get_or("--by", "question");
  db::Group by = by_name == "region" ? db::Group::region : by_name == "model" ? db::Group::model : db::Group::question;
  if (by_name != "question" && by_name != "region" && by_name != "model")
    throw BadInput("--by must be question, region or model");
  auto interval = std::chrono::seconds(args.get_int("--interval-s", 1, 1, 3600));
  bool json = args.has("--json");
  bool tty = isatty(STDOUT_FILENO);
  if (args.has("--matrix")) {
    if (!job_exists(*conn, job_id, "status")) return kExitBadInput;
    std::vector<views::MatrixCell> cells;
    for (const auto& c : db::load_matrix(*conn, job_id))
      cells.push_back({c.question_id, c.model_id, c.region, c.status, c.classification.value_or("")});
    std::cout << views::render_matrix(cells) << std::flush;
    return kExitOk;
  }

  auto render = [&](const Snapshot& s) {
    return json ? views::render_status_json(s.job, s.groups, group_title(by))
                : views::render_status(s.job, s.groups, group_title(by));
  };
  auto snap = load(*conn, job_id, by, stall_after_s);
  if (!snap) {
    std::fprintf(stderr, "beacon-producer status: unknown job '%s'\n", job_id.c_str());
    return kExitBadInput;
  }
  if (!args.has("--watch")) {
    std::cout << render(*snap) << std::flush;
    return kExitOk;
  }
  while (true) {
    if (json) std::cout << render(*snap);
    else if (tty) std::cout << "\033[H\033[2J" << render(*snap);  // redraw in place
    else if (!snap->finished) std::cout << one_line(snap->job);
    std::cout << std::flush;
    if (snap->finished) break;
    std::this_thread::sleep_for(interval);
    try {
      snap = load(*conn, job_id, by, stall_after_s);
    } catch (const std::exception& e) {
      // A database restart while watching: say so and keep watching.
      std::fprintf(stderr, "status: database read failed (%s); retrying\n", e.what());
      try {
        conn = connect_database();
      } catch (const db::DatabaseUnavailable&) {
      }
      continue;
    }
    if (!snap) return kExitBadInput;
  }
  if (!json && !tty) std::cout << render(*snap) << std::flush;
  return kExitOk;
}

}  // namespace beacon::producer
