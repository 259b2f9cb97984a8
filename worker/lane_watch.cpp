#include "lane_watch.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <beacon/db/connect.hpp>

namespace beacon {
namespace {

db::ConnectOptions connect_options() {
  db::ConnectOptions o;
  o.application_name = "beacon-worker lanes";
  o.connect_timeout_s = 3;
  o.statement_timeout_ms = 2000;
  o.lock_timeout_ms = 1000;
  return o;
}

// A lane is consumed while its job has work left in the region; the region
// counters (migration 0003) answer that without touching executions.
constexpr const char* kActiveLanes =
    "SELECT l.job_id, l.weight FROM job_lanes l "
    "JOIN job_group_counts g ON g.job_id = l.job_id AND g.dimension = 'region' AND g.group_id = l.region "
    "WHERE l.region = $1 AND g.pending + g.running > 0 ORDER BY l.created_at, l.job_id";

}  // namespace

LaneWatch::LaneWatch(std::string database_url, std::string region, Mailbox<std::vector<ActiveLane>>& out)
    : database_url_(std::move(database_url)), region_(std::move(region)), out_(out) {
  thread_ = std::thread([this] { loop(); });
}

LaneWatch::~LaneWatch() { stop(); }

void LaneWatch::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void LaneWatch::loop() {
  while (true) {
    poll_once();
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, kLanePollPeriod, [this] { return stopping_; });
    if (stopping_) return;
  }
}

bool LaneWatch::poll_once() {
  try {
    if (!db_) db_ = db::connect(database_url_, connect_options());
    std::vector<ActiveLane> lanes;
    {
      pqxx::read_transaction tx(*db_);
      for (const auto& row : tx.exec_params(kActiveLanes, region_)) {
        lanes.push_back(ActiveLane{row[0].as<std::string>(), row[1].as<int>()});
      }
    }
    if (degraded_) spdlog::info("lanes: database reachable again; following job_lanes for region {}", region_);
    degraded_ = false;
    if (!posted_ || lanes != last_) {
      last_ = lanes;
      posted_ = true;
      out_.put(std::move(lanes));
    }
    return true;
  } catch (const std::exception& e) {
    db_.reset();
    if (!degraded_) {
      spdlog::warn("lanes: cannot read job_lanes for region {} ({}); the lanes consumed now stay consumed, new "
                   "ones are picked up once the database answers",
                   region_, e.what());
    }
    degraded_ = true;
    return false;
  }
}

}  // namespace beacon
