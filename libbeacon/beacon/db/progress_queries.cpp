#include <beacon/db/progress_queries.hpp>

#include <stdexcept>

#include <pqxx/except>
#include <pqxx/pqxx>

#include <beacon/db/connect.hpp>
#include <beacon/db/nullable.hpp>
#include <beacon/db/sql_queries.hpp>
#include <beacon/db/transaction.hpp>

namespace beacon::db {
namespace {

// The dimension name job_group_counts uses for a group.
std::string dimension(Group g) {
  switch (g) {
    case Group::question: return "question";
    case Group::region: return "region";
    case Group::model: return "model";
  }
  throw std::invalid_argument("unknown progress group");
}

ExecutionRow to_execution(const std::string& job_id, const pqxx::row& r) {
  ExecutionRow x;
  x.key = ExecutionKey{job_id, r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                       r[3].as<int>()};
  const auto status = r[4].as<std::string>();
  auto parsed = parse_exec_status(status);
  if (!parsed) throw std::logic_error("executions.status holds an unknown value: " + status);
  x.status = *parsed;
  x.attempts = r[5].as<int>();
  x.worker_id = nullable<std::string>(r[6]);
  x.output_json = nullable<std::string>(r[7]);
  if (auto c = nullable<std::string>(r[8])) x.classification = parse_classification(*c);
  x.receipt_json = nullable<std::string>(r[9]);
  x.error_json = nullable<std::string>(r[10]);
  x.latency_ms = nullable<double>(r[11]);
  x.prompt_tokens = nullable<std::int64_t>(r[12]);
  x.completion_tokens = nullable<std::int64_t>(r[13]);
  x.started_at = nullable<std::string>(r[14]);
  x.completed_at = nullable<std::string>(r[15]);
  x.updated_at = r[16].as<std::string>();
  x.seed = nullable<std::int64_t>(r[17]);
  x.cost_usd = nullable<double>(r[18]);
  x.reused_from_json = nullable<std::string>(r[19]);
  return x;
}

}  // namespace

namespace {

JobProgress to_job(const pqxx::row& row) {
  JobProgress p;
  p.job_id = row[0].as<std::string>();
  p.status = row[1].as<std::string>();
  p.total = row[2].as<std::int64_t>();
  p.pending = row[3].as<std::int64_t>();
  p.running = row[4].as<std::int64_t>();
  p.completed = row[5].as<std::int64_t>();
  p.failed = row[6].as<std::int64_t>();
  p.cancelled = row[7].as<std::int64_t>();
  p.percent = row[8].as<double>();
  p.created_at = row[9].as<std::string>();
  p.started_at = nullable<std::string>(row[10]);
  p.finished_at = nullable<std::string>(row[11]);
  p.elapsed_s = row[12].as<double>();
  p.eta_s = nullable<double>(row[13]);
  p.submissions = row[14].as<int>();
  p.stalled = row[15].as<bool>();
  p.stalled_for_s = row[16].as<double>();
  return p;
}

// job_progress reads its threshold from this transaction-local setting.
void set_stall_after(pqxx::work& w, double stall_after_s) {
  w.exec_params(std::string(sql::set_stall_after), std::to_string(stall_after_s));
}

}  // namespace

std::optional<JobProgress> load_job(pqxx::connection& conn, const std::string& job_id, double stall_after_s) {
  return transact(conn, [&](pqxx::work& w) -> std::optional<JobProgress> {
    set_stall_after(w, stall_after_s);
    const pqxx::result r = w.exec_params(std::string(sql::load_job), job_id);
    if (r.empty()) return std::nullopt;
    JobProgress p = to_job(r[0]);
    const pqxx::result stop = w.exec_params(std::string(sql::job_stop), job_id);
    if (!stop.empty()) {
      if (auto reason = nullable<std::string>(stop[0][0])) {
        p.stop_reason = parse_cancel_reason(*reason);
        if (!p.stop_reason) throw std::logic_error("jobs.stop_reason holds an unknown value: " + *reason);
      }
      JobBudget b{nullable<double>(stop[0][1]), nullable<std::int64_t>(stop[0][2])};
      if (b.max_cost_usd || b.max_tokens) p.budget = b;
    }
    return p;
  });
}

std::vector<JobProgress> recent_jobs(pqxx::connection& conn, int limit) {
  return transact(conn, [&](pqxx::work& w) {
    set_stall_after(w, kDefaultStallAfterS);
    std::vector<JobProgress> out;
    for (const auto& row : w.exec_params(std::string(sql::recent_jobs), limit)) out.push_back(to_job(row));
    return out;
  });
}

std::vector<MatrixCell> load_matrix(pqxx::connection& conn, const std::string& job_id) {
  return transact(conn, [&](pqxx::work& w) {
    std::vector<MatrixCell> out;
    for (const auto& row : w.exec_params(std::string(sql::load_matrix), job_id))
      out.push_back(MatrixCell{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                               row[3].as<int>(), row[4].as<std::string>(), nullable<std::string>(row[5])});
    return out;
  });
}

std::vector<GroupProgress> load_groups(pqxx::connection& conn, const std::string& job_id, Group group) {
  return transact(conn, [&](pqxx::work& w) {
    std::vector<GroupProgress> out;
    for (const auto& row : w.exec_params(std::string(sql::group_counts), job_id, dimension(group))) {
      GroupProgress g;
      g.group = row[0].as<std::string>();
      g.total = row[1].as<std::int64_t>();
      g.pending = row[2].as<std::int64_t>();
      g.running = row[3].as<std::int64_t>();
      g.completed = row[4].as<std::int64_t>();
      g.failed = row[5].as<std::int64_t>();
      g.cancelled = row[6].as<std::int64_t>();
      g.refused = row[7].as<std::int64_t>();
      g.percent = row[8].as<double>();
      g.mean_latency_ms = nullable<double>(row[9]);
      g.p95_latency_ms = nullable<double>(row[10]);
      g.prompt_tokens = row[11].as<std::int64_t>();
      g.completion_tokens = row[12].as<std::int64_t>();
      g.cost_usd = nullable<double>(row[13]);
      g.unpriced = row[14].as<std::int64_t>();
      out.push_back(std::move(g));
    }
    return out;
  });
}

std::int64_t load_reused(pqxx::connection& conn, const std::string& job_id) {
  return transact(conn, [&](pqxx::work& w) -> std::int64_t {
    const pqxx::result r = w.exec_params(std::string(sql::job_reused), job_id);
    return r.empty() ? 0 : r[0][0].as<std::int64_t>();
  });
}

std::optional<ExecutionRow> load_execution(pqxx::connection& conn, const ExecutionKey& key) {
  return transact(conn, [&](pqxx::work& w) -> std::optional<ExecutionRow> {
    const pqxx::result r = w.exec_params(std::string(sql::dashboard_execution), key.job_id, key.region,
                                         key.model_id, key.question_id, key.sample);
    if (r.empty()) return std::nullopt;
    return to_execution(key.job_id, r[0]);
  });
}

std::optional<std::string> load_question_prompt(pqxx::connection& conn, const std::string& job_id,
                                                const std::string& question_id) {
  return transact(conn, [&](pqxx::work& w) -> std::optional<std::string> {
    const pqxx::result r = w.exec_params(std::string(sql::question_prompt), job_id, question_id);
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::string>();
  });
}

std::vector<ExecutionRow> load_execution_across_regions(pqxx::connection& conn, const std::string& job_id,
                                                        const std::string& model_id,
                                                        const std::string& question_id, int sample) {
  return transact(conn, [&](pqxx::work& w) {
    std::vector<ExecutionRow> out;
    for (const auto& row :
         w.exec_params(std::string(sql::dashboard_execution_regions), job_id, model_id, question_id, sample))
      out.push_back(to_execution(job_id, row));
    return out;
  });
}

std::size_t for_each_execution(pqxx::connection& conn, const std::string& job_id,
                               const std::function<void(const ExecutionRow&)>& fn, int page_size) {
  if (page_size < 1) throw std::invalid_argument("for_each_execution: page_size must be positive");
  try {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> t(conn);
    std::size_t visited = 0;
    std::string region, model, question;
    int sample = -1;  // with '' above: a key below every real one
    for (;;) {
      const pqxx::result page =
          t.exec_params(std::string(sql::executions_page), job_id, region, model, question, sample, page_size);
      for (const auto& row : page) fn(to_execution(job_id, row));
      visited += page.size();
      if (page.size() < static_cast<std::size_t>(page_size)) break;
      const pqxx::row last = page[page.size() - 1];
      region = last[0].as<std::string>();
      model = last[1].as<std::string>();
      question = last[2].as<std::string>();
      sample = last[3].as<int>();
    }
    t.commit();
    return visited;
  } catch (const pqxx::broken_connection& e) {
    throw DatabaseUnavailable(std::string("connection to Postgres lost: ") + e.what());
  }
}

}  // namespace beacon::db
