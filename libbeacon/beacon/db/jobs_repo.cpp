#include <beacon/db/jobs_repo.hpp>

#include <map>
#include <stdexcept>
#include <unordered_set>

#include <pqxx/except>
#include <pqxx/pqxx>

#include <beacon/core/errors.hpp>
#include <beacon/db/pg_json.hpp>
#include <beacon/db/sql_queries.hpp>
#include <beacon/db/timestamps.hpp>
#include <beacon/db/transaction.hpp>

namespace beacon::db {
namespace {

// Rows per INSERT of a new job's executions: large enough that a million
// executions take ~50 statements, small enough that one parameter stays a few MB.
constexpr std::size_t kInsertBatch = 20'000;

// Key of an execution within its job ('/' cannot occur in ids).
std::string local_key(const std::string& region, const std::string& model, const std::string& question,
                      int sample) {
  return region + '/' + model + '/' + question + '/' + std::to_string(sample);
}

// The plan as JSON arrays of [region, model_id, question_id, sample, question_ord].
std::vector<std::string> encode_key_batches(const JobSpec& spec, const std::vector<ExecutionMessage>& plan) {
  std::map<std::string, int> ord;
  for (std::size_t i = 0; i < spec.questions.size(); ++i) ord.emplace(spec.questions[i].id, static_cast<int>(i));
  std::vector<std::string> out;
  for (std::size_t start = 0; start < plan.size(); start += kInsertBatch) {
    rapidjson::StringBuffer buf;
    json::Writer w(buf);
    w.StartArray();
    for (std::size_t i = start; i < std::min(plan.size(), start + kInsertBatch); ++i) {
      const ExecutionKey& k = plan[i].key;
      w.StartArray();
      write_string(w, k.region);
      write_string(w, k.model_id);
      write_string(w, k.question_id);
      w.Int(k.sample);
      auto it = ord.find(k.question_id);
      w.Int(it == ord.end() ? 0 : it->second);
      w.EndArray();
    }
    w.EndArray();
    out.emplace_back(buf.GetString(), buf.GetSize());
  }
  return out;
}

// What the registering transaction found out; the messages are built from it
// afterwards, outside the (retryable) transaction.
struct Outcome {
  bool fresh = false;
  int submission = 1;
  std::size_t total = 0;
  bool keys_are_completed = false;       // `keys` lists completed executions, else open ones
  std::unordered_set<std::string> keys;  // local_key() of each
};

Outcome register_in(pqxx::work& w, const JobSpec& spec, const std::string& canonical, std::int64_t now_us,
                    const std::vector<std::string>& batches, std::size_t planned) {
  Outcome o;
  const std::string& id = spec.job_id;
  if (!w.exec_params(std::string(sql::insert_job), id, canonical, planned, now_us).empty()) {
    std::size_t inserted = 0;
    for (const auto& batch : batches)
      inserted += w.exec_params(std::string(sql::insert_executions), id, batch).affected_rows();
    if (inserted != planned)
      throw std::logic_error("job " + id + ": inserted " + std::to_string(inserted) + " executions of " +
                             std::to_string(planned) + " planned");
    o.fresh = true;
    o.total = planned;
    return o;
  }

  const pqxx::result lock = w.exec_params(std::string(sql::lock_job_for_submit), id, canonical);
  if (lock.empty()) throw std::runtime_error("job " + id + " was deleted while it was being re-submitted");
  if (!lock[0][0].as<bool>()) throw SpecError("job_id", "a different spec is registered under this id");

  const pqxx::row r = w.exec_params1(std::string(sql::resubmit_job), id);
  o.submission = r[0].as<int>();
  o.total = r[1].as<std::size_t>();
  const auto completed = r[2].as<std::size_t>();
  // Fetch whichever set is smaller: a resume usually has few open executions.
  o.keys_are_completed = completed * 2 <= o.total;
  const auto rows = w.exec_params(std::string(o.keys_are_completed ? sql::completed_keys : sql::open_keys), id);
  o.keys.reserve(rows.size());
  for (const auto& row : rows)
    o.keys.insert(local_key(row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                            row[3].as<int>()));
  return o;
}

}  // namespace

Registration register_job(pqxx::connection& conn, const JobSpec& spec, const std::string& now_rfc3339) {
  if (spec.job_id.empty()) throw SpecError("job_id", "is required to register a job");
  const auto now_us = parse_rfc3339_us(now_rfc3339);
  if (!now_us) throw std::invalid_argument("register_job: not an RFC 3339 time: '" + now_rfc3339 + "'");

  const std::string canonical = spec.canonical_json();
  std::vector<ExecutionMessage> plan = spec.plan(1, now_rfc3339);
  const std::vector<std::string> batches = encode_key_batches(spec, plan);

  Outcome o;
  try {
    o = transact(conn, [&](pqxx::work& w) {
      return register_in(w, spec, canonical, *now_us, batches, plan.size());
    });
  } catch (const pqxx::data_exception& e) {
    // E.g. text jsonb cannot hold; nothing was written (the transaction rolled back).
    throw BadInput(std::string("the database refused the spec: ") + e.what());
  }

  Registration reg;
  reg.job_id = spec.job_id;
  reg.submission = o.submission;
  reg.total = o.total;
  if (o.fresh) {
    reg.to_enqueue = std::move(plan);
  } else {
    for (auto& m : plan) {
      const bool listed = o.keys.contains(local_key(m.key.region, m.key.model_id, m.key.question_id, m.key.sample));
      if (listed == o.keys_are_completed) {
        ++reg.skipped;
        continue;
      }
      m.submission = o.submission;
      reg.to_enqueue.push_back(std::move(m));
    }
    const std::size_t listed = o.keys_are_completed ? reg.skipped : reg.to_enqueue.size();
    if (listed != o.keys.size() || reg.skipped + reg.to_enqueue.size() != o.total)
      throw std::logic_error("job " + spec.job_id + ": its stored executions do not match the plan of its spec");
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
