#include <cstdio>
#include <iostream>

#include <beacon/core/cli.hpp>
#include <beacon/core/json.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/progress_queries.hpp>

#include "commands.hpp"
#include "database.hpp"

namespace beacon::producer {
namespace {

void write_opt_str(json::Writer& w, const char* key, const std::optional<std::string>& v) {
  w.Key(key);
  if (v) w.String(v->c_str(), v->size()); else w.Null();
}

// The text of an output object ({"text":...}), or null.
void write_text(json::Writer& w, const std::optional<std::string>& output_json) {
  w.Key("text");
  if (!output_json) return (void)w.Null();
  auto doc = json::parse(*output_json);
  auto it = doc.IsObject() ? doc.FindMember("text") : doc.MemberEnd();
  if (it == doc.MemberEnd() || !it->value.IsString()) return (void)w.Null();
  w.String(it->value.GetString(), it->value.GetStringLength());
}

std::string to_jsonl(const db::ExecutionRow& r) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("job_id"); w.String(r.key.job_id.c_str());
  w.Key("region"); w.String(r.key.region.c_str());
  w.Key("model_id"); w.String(r.key.model_id.c_str());
  w.Key("question_id"); w.String(r.key.question_id.c_str());
  w.Key("sample"); w.Int(r.key.sample);
  w.Key("status"); auto st = to_string(r.status); w.String(st.data(), st.size());
  w.Key("classification");
  if (r.classification) { auto c = to_string(*r.classification); w.String(c.data(), c.size()); } else w.Null();
  write_text(w, r.output_json);
  w.Key("latency_ms"); if (r.latency_ms) w.Double(*r.latency_ms); else w.Null();
  w.Key("prompt_tokens"); if (r.prompt_tokens) w.Int64(*r.prompt_tokens); else w.Null();
  w.Key("completion_tokens"); if (r.completion_tokens) w.Int64(*r.completion_tokens); else w.Null();
  w.Key("attempts"); w.Int(r.attempts);
  w.Key("seed"); if (r.seed) w.Int64(*r.seed); else w.Null();
  w.Key("cost_usd"); if (r.cost_usd) w.Double(*r.cost_usd); else w.Null();
  // The key of the execution the answer was copied from (reuse), or null.
  if (r.reused_from_json) json::write_raw(w, "reused_from", *r.reused_from_json); else { w.Key("reused_from"); w.Null(); }
  write_opt_str(w, "worker_id", r.worker_id);
  if (r.error_json) json::write_raw(w, "error", *r.error_json); else { w.Key("error"); w.Null(); }
  if (r.receipt_json) json::write_raw(w, "receipt", *r.receipt_json); else { w.Key("receipt"); w.Null(); }
  write_opt_str(w, "started_at", r.started_at);
  write_opt_str(w, "completed_at", r.completed_at);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

int export_rows(int argc, char** argv) {
  CliArgs args(argc, argv, 2, {"--status"}, {"--help"});
  if (args.has("--help") || args.positionals().size() != 1) {
    std::cout << "usage: beacon-producer export JOB_ID [--status S]\n"
                 "One JSON line per execution on stdout (responses.jsonl): job_id, region, model_id,\n"
                 "question_id, sample, status, classification, text, latency_ms, prompt_tokens,\n"
                 "completion_tokens, attempts, seed, cost_usd, reused_from (the key of the execution a\n"
                 "copied answer came from, or null), worker_id, error, receipt, started_at, completed_at.\n"
                 "  --status S   only executions in status S (pending, running, completed, failed, cancelled)\n";
    return args.has("--help") ? kExitOk : kExitBadInput;
  }
  auto job_id = args.positionals()[0];
  std::optional<ExecStatus> only;
  if (auto s = args.get("--status")) {
    only = parse_exec_status(*s);
    if (!only) throw BadInput("--status must be pending, running, completed, failed or cancelled");
  }
  auto conn = connect_database();
  if (!job_exists(*conn, job_id, "export")) return kExitBadInput;
  db::for_each_execution(*conn, job_id, [&](const db::ExecutionRow& r) {
    if (only && r.status != *only) return;
    std::string line = to_jsonl(r);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  });
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace beacon::producer
