#include <cstdio>
#include <iostream>

#include <beacon/core/cli.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/progress_queries.hpp>
#include <beacon/views/from_db.hpp>
#include <beacon/views/report.hpp>

#include "commands.hpp"
#include "database.hpp"

namespace beacon::producer {

int report(int argc, char** argv) {
  CliArgs args(argc, argv, 2, {}, {"--json", "--help"});
  if (args.has("--help") || args.positionals().size() != 1) {
    std::cout << "usage: beacon-producer report JOB_ID [--json]\n"
                 "Cross-region comparison computed from the stored rows, per question:\n"
                 "  refusal rate by region and by model  refused / completed answers\n"
                 "  answer words                         mean word count, overall and by region\n"
                 "  region divergence                    mean pairwise Jaccard distance between the\n"
                 "                                       regions' answer word sets for the same model\n"
                 "                                       and sample (0 same words, 1 none shared)\n";
    return args.has("--help") ? kExitOk : kExitBadInput;
  }
  auto job_id = args.positionals()[0];
  auto conn = connect_database();
  if (!job_exists(*conn, job_id, "report")) return kExitBadInput;
  views::ReportBuilder builder(job_id);
  db::for_each_execution(*conn, job_id, [&](const db::ExecutionRow& r) {
    builder.add(views::to_report_row(r));
  });
  auto rep = builder.finish();
  std::cout << (args.has("--json") ? views::render_report_json(rep) : views::render_report(rep)) << std::flush;
  return kExitOk;
}

}  // namespace beacon::producer
