#include <beacon/db/submit_lanes.hpp>

#include <pqxx/pqxx>

#include <beacon/db/pg_json.hpp>
#include <beacon/db/sql_queries.hpp>
#include <beacon/db/transaction.hpp>

namespace beacon::db {
namespace {

std::vector<LaneFacts> read_facts(pqxx::work& w, const JobSpec& spec) {
  const pqxx::result rows = w.exec_params(std::string(sql::lane_facts), spec.job_id, string_array(spec.regions));
  std::vector<LaneFacts> facts;
  facts.reserve(rows.size());
  for (const auto& row : rows) facts.push_back({row[0].as<std::string>(), row[1].as<bool>(), row[2].as<bool>()});
  return facts;
}

}  // namespace

std::optional<LaneReason> lane_reason(const LaneFacts& facts, std::optional<int> priority) {
  if (priority) return LaneReason::priority;
  if (facts.others_busy) return LaneReason::others_busy;
  if (facts.has_lane) return LaneReason::kept;
  return std::nullopt;
}

std::string describe(LaneReason reason, std::optional<int> priority) {
  switch (reason) {
    case LaneReason::priority:
      return "own lane (priority " + std::to_string(priority.value_or(kMinPriority)) + ")";
    case LaneReason::others_busy:
      return "own lane (another job has work here)";
    case LaneReason::kept:
      return "own lane (kept from an earlier submit)";
  }
  return "own lane";
}

std::vector<Lane> assign_lanes(pqxx::connection& conn, const JobSpec& spec) {
  const int weight = spec.priority.value_or(kMinPriority);
  return transact(conn, [&](pqxx::work& w) {
    std::vector<Lane> lanes;
    for (const auto& facts : read_facts(w, spec)) {
      const auto reason = lane_reason(facts, spec.priority);
      if (!reason) continue;
      w.exec_params0(std::string(sql::upsert_job_lane), spec.job_id, facts.region, weight);
      lanes.push_back({facts.region, weight, *reason});
    }
    return lanes;
  });
}

}  // namespace beacon::db
