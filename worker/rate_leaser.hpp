#pragma once
// The worker's side of the fleet-wide rate limits (infer/rate_limits.hpp):
// a thread with its own Postgres connection that books capacity from the
// shared buckets (migration 0005, beacon_rate_lease) for whatever requests
// wait here, a second or so ahead. Nothing else of the worker waits for it:
// requests take what is already booked (the client's strand), the AMQP
// thread never sees the database.
//
// Database unreachable (or slow past its 2 s statement timeout): the worker
// says so in the log and limits itself locally to limit / N, N = the live
// workers the bucket counted at the last lease (1 if it never leased: then
// each worker may use the whole limit, and the log says that too). Leasing
// from the bucket resumes when the database answers again.
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <pqxx/connection>

#include <beacon/infer/rate_limits.hpp>

namespace beacon {

class RateLeaser {
 public:
  RateLeaser(std::string database_url, std::string worker_id, std::shared_ptr<infer::FleetRateLimits> limits);
  ~RateLeaser();
  RateLeaser(const RateLeaser&) = delete;
  RateLeaser& operator=(const RateLeaser&) = delete;
  void stop();

 private:
  void loop();
  bool ensure_connection();
  // One lease from the bucket; false when the database failed.
  bool lease(const infer::FleetRateLimits::Need& need);
  void fall_back(const infer::FleetRateLimits::Need& need, const std::string& why);

  std::string database_url_;
  std::string worker_id_;
  std::shared_ptr<infer::FleetRateLimits> limits_;
  std::unique_ptr<pqxx::connection> db_;
  std::chrono::steady_clock::time_point db_retry_after_{};
  std::map<std::string, int> live_workers_;  // by limit key, from the last lease
  bool degraded_ = false;                    // logging the fallback once per outage
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace beacon
