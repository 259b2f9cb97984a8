#pragma once
// Fleet-wide rate limits: the capacity this worker process holds of each
// shared limit (requests_per_minute / tokens_per_minute of the endpoint file,
// one limit per url + api key, named by EndpointConfig::limit_key).
//
// Two sides, on two threads:
//  * the InferenceClient (its strand) takes capacity before each request
//    (try_take), reports how many requests wait (set_demand) and corrects a
//    request's token estimate from the usage the server reported;
//  * a leaser (worker/rate_leaser.hpp, its own thread and database
//    connection) reads what is needed (needs()) and adds leases (grant())
//    from the shared bucket in Postgres. No request waits for the database:
//    leases are booked ahead, a second or so at a time.
// Without a leaser (attach_leaser() never called) every limit is enforced by
// this process alone (lease_locally from a local schedule): right for one
// process, limit x processes for several.
//
// The shared schedule is GCRA-like: the bucket keeps the time up to which
// its capacity is booked; a lease of n requests covers [start, start + n/rate]
// and is used evenly across it (lease_schedule.hpp), so the fleet as a whole
// sends at the limit's rate without bursts. Bookings reach at most
// kBookingHorizon + kLeaseSpan ahead: a worker that dies takes at most that
// much unused capacity with it.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <beacon/infer/lease_schedule.hpp>

namespace beacon::infer {

struct RateLimitSettings {
  double requests_per_minute = 0;  // 0: no limit in this dimension
  double tokens_per_minute = 0;
  bool any() const { return requests_per_minute > 0 || tokens_per_minute > 0; }
};

// A lease asked for and what came back, in one dimension.
struct LeaseRequest {
  double wanted = 0;        // units this worker would like booked
  double rate_per_s = 0;    // the limit, per second
};
struct LeaseGrant {
  double amount = 0;
  std::chrono::steady_clock::time_point start{};
  std::chrono::steady_clock::time_point end{};
};

inline constexpr std::chrono::milliseconds kLeaseSpan{1000};        // a worker asks for up to this much of the rate
inline constexpr std::chrono::milliseconds kBookingHorizon{1000};   // no lease starts further ahead than this
inline constexpr std::chrono::milliseconds kLeaserPeriod{100};      // how often the leaser looks at the needs

// The schedule arithmetic shared by the database bucket and the local one:
// given the time up to which the bucket is booked (`booked_until`, in
// seconds on any clock) and `now` on the same clock, books up to `wanted`
// units at `rate_per_s`. Returns the grant [start, end] in that clock and
// moves booked_until; a grant of 0 when the schedule is booked beyond the horizon.
struct Booking {
  double amount = 0;
  double start = 0;
  double end = 0;
};
Booking book(double& booked_until, double now, double wanted, double rate_per_s,
             double horizon_s = std::chrono::duration<double>(kBookingHorizon).count());

class FleetRateLimits {
 public:
  using Clock = std::chrono::steady_clock;

  // (Re)sets the limits of one key; `label` (a redacted URL) is for logs.
  void configure(const std::string& key, RateLimitSettings settings, const std::string& label);
  bool limited(const std::string& key) const;

  // Client side. Takes one request carrying `tokens` (an estimate) when the
  // held capacity allows; otherwise false and `retry_at` says when to look again.
  bool try_take(const std::string& key, double tokens, Clock::time_point now, Clock::time_point& retry_at);
  // actual - estimated tokens of a finished request (negative: gives back).
  void correct_tokens(const std::string& key, double delta);
  // Requests (and their estimated tokens) waiting for capacity at one endpoint entry.
  void set_demand(const std::string& key, const std::string& entry, std::size_t requests, double tokens);

  // Leaser side.
  struct Need {
    std::string key;
    std::string label;
    RateLimitSettings settings;
    LeaseRequest requests;  // wanted 0: enough is booked
    LeaseRequest tokens;
  };
  std::vector<Need> needs(Clock::time_point now);
  void grant(const std::string& key, const LeaseGrant& requests, const LeaseGrant& tokens);
  // Books from a schedule kept in this process, at rate / share (share = the
  // number of live workers when the database is unreachable; 1 standalone).
  void lease_locally(const Need& need, Clock::time_point now, double share);
  // A leaser keeps the limits (the client stops leasing locally).
  void attach_leaser() { attached_ = true; }
  bool leaser_attached() const { return attached_; }

 private:
  struct KeyState {
    std::string label;
    RateLimitSettings settings;
    LeaseSchedule requests;
    LeaseSchedule tokens;
    std::map<std::string, std::pair<std::size_t, double>> demand;  // by entry
    double local_requests_booked_until = 0;  // lease_locally's schedule (seconds, steady clock)
    double local_tokens_booked_until = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, KeyState> keys_;
  std::atomic<bool> attached_{false};  // set on the worker's thread, read on the client's strand
};

}  // namespace beacon::infer
