#include "stats.hpp"

#include <beacon/core/json.hpp>

#include <algorithm>
#include <chrono>

namespace beacon::sim {

void Stats::received(const RequestKey* key) {
  std::lock_guard lock(mutex_);
  ++requests_;
  max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
  const auto second = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  ++per_second_[second];
  while (per_second_.size() > kPerSecondKept) per_second_.erase(per_second_.begin());
  if (!key) return;
  ++by_key_[key->by_key()];
  if (!seen_.insert(key->dedup_key()).second) ++duplicates_;
}

void Stats::completed(const RequestKey& key) {
  std::lock_guard lock(mutex_);
  ++completed_;
  if (!answered_.insert(key.dedup_key()).second) ++completed_duplicates_;
}

void Stats::finished(const std::string& status) {
  std::lock_guard lock(mutex_);
  --in_flight_;
  ++by_status_[status];
}

void Stats::reset() {
  std::lock_guard lock(mutex_);
  requests_ = completed_ = duplicates_ = completed_duplicates_ = 0;
  max_in_flight_ = std::max<std::int64_t>(in_flight_, 0);
  by_status_.clear();
  by_key_.clear();
  per_second_.clear();
  seen_.clear();
  answered_.clear();
}

std::int64_t Stats::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

std::string Stats::to_json() const {
  std::lock_guard lock(mutex_);
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  auto str = [&](const std::string& s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
  w.StartObject();
  w.Key("requests");
  w.Uint64(requests_);
  w.Key("completed");
  w.Uint64(completed_);
  w.Key("duplicates");
  w.Uint64(duplicates_);
  w.Key("completed_duplicates");
  w.Uint64(completed_duplicates_);
  w.Key("in_flight");
  w.Int64(in_flight_);
  w.Key("max_in_flight");
  w.Int64(max_in_flight_);
  w.Key("by_status");
  w.StartObject();
  for (const auto& [k, v] : by_status_) {
    str(k);
    w.Uint64(v);
  }
  w.EndObject();
  w.Key("by_key");
  w.StartObject();
  for (const auto& [k, v] : by_key_) {
    str(k);
    w.Uint64(v);
  }
  w.EndObject();
  w.Key("per_second");
  w.StartObject();
  for (const auto& [k, v] : per_second_) {
    str(std::to_string(k));
    w.Uint64(v);
  }
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace beacon::sim
