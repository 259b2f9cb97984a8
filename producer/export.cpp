#include <cstdio>
#include <stdexcept>
#include <iostream>

#include <beacon/core/cli.hpp>
#include <beacon/core/json.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/export_rows.hpp>

#include "commands.hpp"
#include "database.hpp"

namespace beacon::producer {
namespace {

void write_opt_str(json::Writer& w, const char* key, std::optional<std::string_view> v) {
  w.Key(key);
  if (v) w.String(v->data(), static_cast<rapidjson::SizeType>(v->size())); else w.Null();
}

void write_opt_raw(json::Writer& w, const char* key, std::optional<std::string_view> raw) {
  if (raw) return json::write_raw(w, key, *raw);
  w.Key(key);
  w.Null();
}

void write_opt_int(json::Writer& w, const char* key, std::optional<std::int64_t> v) {
  w.Key(key);
  if (v) w.Int64(*v); else w.Null();
}

void write_opt_double(json::Writer& w, const char* key, std::optional<double> v) {
  w.Key(key);
  if (v) w.Double(*v); else w.Null();
}

// One line of responses.jsonl, appended to the writer's buffer.
void write_line(json::Writer& w, const std::string& job_id, const db::ExportRow& r) {
  w.StartObject();
  w.Key("job_id"); w.String(job_id.c_str(), static_cast<rapidjson::SizeType>(job_id.size()));
  write_opt_str(w, "region", r.region);
  write_opt_str(w, "model_id", r.model_id);
  write_opt_str(w, "question_id", r.question_id);
  w.Key("sample"); w.Int(r.sample);
  write_opt_str(w, "status", to_string(r.status));
  write_opt_str(w, "classification",
                r.classification ? std::optional(to_string(*r.classification)) : std::nullopt);
  // Already a JSON string literal (export_rows.sql): copied, never parsed.
  write_opt_raw(w, "text", r.text_json);
  write_opt_double(w, "latency_ms", r.latency_ms);
  write_opt_int(w, "prompt_tokens", r.prompt_tokens);
  write_opt_int(w, "completion_tokens", r.completion_tokens);
  w.Key("attempts"); w.Int(r.attempts);
  write_opt_int(w, "seed", r.seed);
  write_opt_double(w, "cost_usd", r.cost_usd);
  // The key of the execution the answer was copied from (reuse), or null.
  write_opt_raw(w, "reused_from", r.reused_from_json);
  write_opt_str(w, "worker_id", r.worker_id);
  write_opt_raw(w, "error", r.error_json);
  write_opt_raw(w, "receipt", r.receipt_json);
  write_opt_str(w, "started_at", r.started_at);
  write_opt_str(w, "completed_at", r.completed_at);
  w.EndObject();
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
  // Lines are built in one buffer and written 64 KiB at a time.
  constexpr std::size_t kFlushBytes = 64 * 1024;
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  auto flush = [&] {
    if (std::fwrite(buf.GetString(), 1, buf.GetSize(), stdout) != buf.GetSize())
      throw std::runtime_error("export: writing to stdout failed");
    buf.Clear();
  };
  db::for_each_export_row(*conn, job_id, only, [&](const db::ExportRow& r) {
    w.Reset(buf);
    write_line(w, job_id, r);
    buf.Put('\n');
    if (buf.GetSize() >= kFlushBytes) flush();
  });
  flush();
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace beacon::producer
