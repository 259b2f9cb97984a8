#pragma once
// Which lanes (docs/fair-share.md) this worker's region has: a thread with
// its own Postgres connection reads job_lanes (migration 0014) every second
// and posts the lanes whose job still has pending or running executions in
// the region. The owner loop consumes what it is told and never waits for
// the database: while the database is unreachable the last answer stands
// (lanes already consumed stay consumed), and the log says so once.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/connection>

#include <beacon/core/mailbox.hpp>

namespace beacon {

struct ActiveLane {
  std::string job_id;
  int weight = 1;
  bool operator==(const ActiveLane&) const = default;
};

inline constexpr std::chrono::seconds kLanePollPeriod{1};

class LaneWatch {
 public:
  LaneWatch(std::string database_url, std::string region, Mailbox<std::vector<ActiveLane>>& out);
  ~LaneWatch();
  LaneWatch(const LaneWatch&) = delete;
  LaneWatch& operator=(const LaneWatch&) = delete;
  void stop();

 private:
  void loop();
  bool poll_once();

  std::string database_url_;
  std::string region_;
  Mailbox<std::vector<ActiveLane>>& out_;
  std::unique_ptr<pqxx::connection> db_;
  bool degraded_ = false;  // logging the outage once
  bool posted_ = false;
  std::vector<ActiveLane> last_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace beacon
