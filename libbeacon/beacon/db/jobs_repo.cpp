#include <beacon/db/jobs_repo.hpp>

#include <cstdio>
#include <stdexcept>

#include <pqxx/except>
#include <pqxx/pqxx>

#include <beacon/core/errors.hpp>
#include <beacon/core/plan_stream.hpp>
#include <beacon/db/pg_json.hpp>
#include <beacon/db/sql_queries.hpp>
#include <beacon/db/timestamps.hpp>
#include <beacon/db/transaction.hpp>

namespace beacon::db {
namespace {

// The chunk's keys as a JSON array of [region, model_id, question_id, sample, question_ord].
std::string encode_chunk(const PlanChunk& chunk) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartArray();
  for (std::size_t i = 0; i < chunk.messages.size(); ++i) {
    const ExecutionKey& k = chunk.messages[i].key;
    w.StartArray();
    write_string(w, k.region);
    write_string(w, k.model_id);
    write_string(w, k.question_id);
    w.Int(k.sample);
    w.Int(chunk.question_ord[i]);
    w.EndArray();
  }
  w.EndArray();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string encode_questions(const std::vector<Question>& questions) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartArray();
  for (const auto& q : questions) {
    w.StartArray();
    write_string(w, q.id);
    write_string(w, q.prompt);
    w.EndArray();
  }
  w.EndArray();
  return std::string(buf.GetString(), buf.GetSize());
}

// A re-submit whose budget the job has already spent would run until the
// first answer and stop again: refuse it, saying what was spent.
void refuse_spent_budget(pqxx::work& w, const std::string& id, const JobBudget& budget) {
  const pqxx::row spent = w.exec_params1(std::string(sql::job_spend), id);
  const auto cost = spent[0].as<double>();
  const auto tokens = spent[1].as<std::int64_t>();
  char line[256];
  if (budget.max_cost_usd && cost >= *budget.max_cost_usd) {
    std::snprintf(line, sizeof line, "job %s has already spent $%.6f, which reaches max_cost_usd $%.6f: raise it to resume",
                  id.c_str(), cost, *budget.max_cost_usd);
    throw SpecError("budget.max_cost_usd", line);
  }
  if (budget.max_tokens && tokens >= *budget.max_tokens)
    throw SpecError("budget.max_tokens", "job " + id + " has already spent " + std::to_string(tokens) +
                                             " tokens, which reaches max_tokens " + std::to_string(*budget.max_tokens) +
                                             ": raise it to resume");
}

SubmitStart begin_in(pqxx::work& w, const JobSpec& spec, const std::string& canonical, std::int64_t now_us) {
  SubmitStart o;
  const std::string& id = spec.job_id;
  o.total = spec.execution_count();
  if (!w.exec_params(std::string(sql::insert_job), id, canonical, o.total, now_us).empty()) {
    o.fresh = true;
    return o;
  }
  const pqxx::result lock = w.exec_params(std::string(sql::lock_job_for_submit), id, canonical);
  if (lock.empty()) throw std::runtime_error("job " + id + " was deleted while it was being re-submitted");
  if (!lock[0][0].as<bool>()) throw SpecError("job_id", "a different spec is registered under this id");
  if (spec.budget) refuse_spent_budget(w, id, *spec.budget);
  const pqxx::row r = w.exec_params1(std::string(sql::resubmit_job), id, canonical);
  o.submission = r[0].as<int>();
  o.total = r[1].as<std::size_t>();
  o.completed = r[2].as<std::size_t>();
  return o;
}

}  // namespace

SubmitStart begin_submit(pqxx::connection& conn, const JobSpec& spec, const std::string& now_rfc3339) {
  if (spec.job_id.empty()) throw SpecError("job_id", "is required to register a job");
  const auto now_us = parse_rfc3339_us(now_rfc3339);
  if (!now_us) throw std::invalid_argument("register_job: not an RFC 3339 time: '" + now_rfc3339 + "'");
  const std::string canonical = spec.canonical_json();
  try {
    return transact(conn, [&](pqxx::work& w) { return begin_in(w, spec, canonical, *now_us); });
  } catch (const pqxx::data_exception& e) {
    // E.g. text jsonb cannot hold; nothing was written (the transaction rolled back).
    throw BadInput(std::string("the database refused the spec: ") + e.what());
  }
}

std::vector<std::size_t> register_chunk(pqxx::connection& conn, const std::string& job_id, const SubmitStart& start,
                                        const PlanChunk& chunk) {
  if (chunk.messages.empty()) return {};
  const std::string keys = encode_chunk(chunk);
  try {
    return transact(conn, [&](pqxx::work& w) {
      const pqxx::result rows = w.exec_params(std::string(sql::register_chunk), job_id, keys, start.submission, start.fresh);
      if (!chunk.file_questions.empty())
        w.exec_params0(std::string(sql::register_questions), job_id, encode_questions(chunk.file_questions));
      std::vector<std::size_t> out;
      out.reserve(rows.size());
      for (const auto& row : rows) out.push_back(row[0].as<std::size_t>() - 1);
      return out;
    });
  } catch (const pqxx::data_exception& e) {
    throw BadInput(std::string("the database refused the spec: ") + e.what());
  }
}

Registration register_job(pqxx::connection& conn, const JobSpec& spec, const std::string& now_rfc3339) {
  const SubmitStart start = begin_submit(conn, spec, now_rfc3339);
  Registration reg;
  reg.job_id = spec.job_id;
  reg.submission = start.submission;
  reg.total = start.total;
  PlanStream plan(spec, start.submission, now_rfc3339);
  PlanChunk chunk;
  while (plan.next(kRegisterChunk, chunk)) {
    const auto open = register_chunk(conn, spec.job_id, start, chunk);
    for (auto i : open) reg.to_enqueue.push_back(std::move(chunk.messages[i]));
    reg.skipped += chunk.messages.size() - open.size();
  }
  reg.enqueued = reg.to_enqueue.size();
  return reg;
}

std::optional<CancelOutcome> cancel_job(pqxx::connection& conn, const std::string& job_id) {
  return transact(conn, [&](pqxx::work& w) -> std::optional<CancelOutcome> {
    const pqxx::result r = w.exec_params(std::string(sql::lock_job_for_cancel), job_id);
    if (r.empty()) return std::nullopt;
    CancelOutcome out;
    out.status = r[0][0].as<std::string>();
    out.submission = r[0][1].as<int>();
    if (out.status == "completed" || out.status == "failed" || out.status == "cancelled") return out;
    w.exec_params(std::string(sql::cancel_job), job_id);
    out.cancelled_now = true;
    out.status = "cancelled";
    return out;
  });
}

std::optional<ExecStatus> execution_status(pqxx::connection& conn, const ExecutionKey& key) {
  const auto text = transact(conn, [&](pqxx::work& w) -> std::optional<std::string> {
    const pqxx::result r = w.exec_params(std::string(sql::execution_status), key.job_id, key.region, key.model_id,
                                         key.question_id, key.sample);
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::string>();
  });
  if (!text) return std::nullopt;
  auto status = parse_exec_status(*text);
  if (!status) throw std::logic_error("executions.status holds an unknown value: " + *text);
  return status;
}

std::optional<std::string> job_status(pqxx::connection& conn, const std::string& job_id) {
  return transact(conn, [&](pqxx::work& w) -> std::optional<std::string> {
    const pqxx::result r = w.exec_params(std::string(sql::job_status), job_id);
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::string>();
  });
}

std::optional<JobState> job_state(pqxx::connection& conn, const std::string& job_id) {
  return transact(conn, [&](pqxx::work& w) -> std::optional<JobState> {
    const pqxx::result r = w.exec_params(std::string(sql::job_state), job_id);
    if (r.empty()) return std::nullopt;
    return JobState{r[0][0].as<std::string>(), r[0][1].as<int>()};
  });
}

}  // namespace beacon::db
