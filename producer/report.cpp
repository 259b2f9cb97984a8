#include <cstdio>
#include <iostream>

#include <beacon/core/cli.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/progress_queries.hpp>
#include <beacon/db/report_rows.hpp>
#include <beacon/views/report.hpp>
#include <beacon/views/report_stream.hpp>

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
  // Streamed: rows come from a cursor in question order, each question is
  // printed as soon as its last row was read (bounded memory at any size).
  const bool as_json = args.has("--json");
  // Why the job stopped early, if it did: said under the head.
  const auto job = db::load_job(*conn, job_id);
  const auto stop_reason = job ? job->stop_reason : std::nullopt;
  long questions = 0;
  views::SortedReportStream stream([&](const views::QuestionReport& q) {
    if (as_json) std::cout << (questions > 0 ? "," : "") << views::render_question_json(q);
    else std::cout << views::render_question(q);
    ++questions;
  });
  views::ReportRow row;
  db::read_report_rows(
      *conn, job_id,
      [&](long executions, long completed) {
        std::cout << (as_json ? views::render_report_json_head(job_id, executions, completed, stop_reason)
                              : views::render_report_head(job_id, executions, completed, stop_reason));
      },
      [&](const db::ReportSourceRow& r) {
        row.region = r.region;
        row.model = r.model_id;
        row.question = r.question_id;
        row.sample = r.sample;
        row.status = r.status;
        row.classification = r.classification;
        row.text = r.text;
        stream.add(row);
      });
  stream.finish();
  std::cout << (as_json ? views::render_report_json_tail() : views::render_report_foot()) << std::flush;
  return kExitOk;
}

}  // namespace beacon::producer
