#pragma once
// Request bookkeeping for "pay the GPU once" tests, served as GET /stats:
// {
//   "requests":  inference requests received (chat + beacon, whatever the outcome),
//   "completed": valid answers sent (normal, slow and redirect modes),
//   "duplicates": requests whose (model, region, user prompt, seed) had been received before,
//   "completed_duplicates": valid answers for a (model, region, user prompt, seed) already answered
//                           (the GPU was paid twice),
//   "in_flight": inference requests received and not yet answered, "max_in_flight": its peak,
//   "by_status": {"200": n, "503": n, ..., "dropped": n, "reset": n}  (closed without a full answer),
//   "by_key": {"<model>|<region>|<user prompt>": requests},
//   "per_second": {"<unix second>": inference requests received in it}  (the last kPerSecondKept seconds)
// }
// POST /admin/reset zeroes everything (in_flight keeps counting what is open).
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace beacon::sim {

struct RequestKey {
  std::string model;
  std::string region;
  std::string prompt;  // the user prompt as sent
  std::optional<std::int64_t> seed;

  std::string by_key() const { return model + "|" + region + "|" + prompt; }
  std::string dedup_key() const {
    return by_key() + "|" + (seed ? std::to_string(*seed) : std::string("-"));
  }
};

class Stats {
 public:
  // An inference request whose body could not be read as a request has no key.
  void received(const RequestKey* key);
  void completed(const RequestKey& key);
  // "200", "503", ... or "dropped" / "reset" (closed without a full answer); ends in_flight.
  void finished(const std::string& status);
  void reset();
  std::int64_t in_flight() const;
  static constexpr std::size_t kPerSecondKept = 3600;
  std::string to_json() const;

 private:
  mutable std::mutex mutex_;
  std::uint64_t requests_ = 0;
  std::uint64_t completed_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t completed_duplicates_ = 0;
  std::int64_t in_flight_ = 0;
  std::int64_t max_in_flight_ = 0;
  std::map<std::string, std::uint64_t> by_status_;
  std::map<std::string, std::uint64_t> by_key_;
  std::map<std::int64_t, std::uint64_t> per_second_;  // arrivals by wall-clock second
  std::set<std::string> seen_;
  std::set<std::string> answered_;
};

}  // namespace beacon::sim
