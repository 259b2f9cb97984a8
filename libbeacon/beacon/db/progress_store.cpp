#include <beacon/db/progress_store.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>

#include <pqxx/pqxx>

#include <beacon/db/event_batch.hpp>
#include <beacon/db/sql_queries.hpp>
#include <beacon/db/transaction.hpp>

namespace beacon::db {

ApplyResult apply_events(pqxx::connection& conn, const std::vector<ResultEvent>& batch) {
  if (batch.empty()) return {};
  const std::vector<KeyedEvent> reduced = reduce_per_key(batch);
  const std::string events = encode_events(batch, reduced);
  const std::string job_ids = encode_job_ids(batch);

  // Per reduced key: does its row exist, did it move.
  struct Outcome {
    std::vector<bool> known, transitioned;
    std::vector<BudgetStop> budget_stops;
  };
  const Outcome o = transact(conn, [&](pqxx::work& w) {
    w.exec_params(std::string(sql::lock_jobs), job_ids);
    const pqxx::result rows = w.exec_params(std::string(sql::apply_events), events);
    if (rows.size() != reduced.size())
      throw std::logic_error("apply_events: " + std::to_string(rows.size()) + " result rows for " +
                             std::to_string(reduced.size()) + " keys");
    Outcome out{std::vector<bool>(reduced.size()), std::vector<bool>(reduced.size()), {}};
    for (const auto& row : rows) {
      const auto k = row[0].as<std::size_t>();
      out.known.at(k) = row[1].as<bool>();
      out.transitioned.at(k) = row[2].as<bool>();
    }
    // After the batch moved the counters: did it spend a job's budget?
    for (const auto& row : w.exec_params(std::string(sql::budget_stop), job_ids))
      out.budget_stops.push_back(BudgetStop{row[0].as<std::string>(), row[1].as<int>(), row[2].as<double>(),
                                            row[3].as<std::int64_t>(), row[4].as<std::size_t>()});
    return out;
  });

  ApplyResult result;
  result.budget_stops = o.budget_stops;
  for (std::size_t k = 0; k < reduced.size(); ++k) {
    const auto& members = reduced[k].members;
    if (!o.known[k]) {
      result.unknown.insert(result.unknown.end(), members.begin(), members.end());
      continue;
    }
    const std::size_t moved = o.transitioned[k] ? 1 : 0;
    result.transitioned += moved;
    result.ignored += members.size() - moved;  // the superseded ones of the key, too
  }
  std::sort(result.unknown.begin(), result.unknown.end());
  return result;
}

}  // namespace beacon::db
