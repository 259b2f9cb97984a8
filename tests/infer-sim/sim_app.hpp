#pragma once
// What the simulator answers, without any socket: routes one parsed HTTP
// request to an Outcome (a response, a delay before it, or a way of failing
// the connection). Thread-safe; the server's sessions call it from any thread.
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "modes.hpp"
#include "sim_options.hpp"
#include "stats.hpp"

namespace beacon::sim {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct Outcome {
  enum class Kind {
    respond,             // write `response`
    drop,                // close the connection without writing anything (mode "down")
    partial_then_close,  // write `partial` (headers and half a body), then close (mode "reset")
  };
  Kind kind = Kind::respond;
  Response response;
  std::string partial;
  std::chrono::milliseconds delay{0};  // wait this long before acting (simulated inference)
  bool inference = false;              // an inference request: report it to finished()
  std::optional<RequestKey> completes;  // a valid answer: report it to completed() when sent
};

class SimApp {
 public:
  SimApp(const SimOptions& options, std::string api_key);

  Outcome handle(const Request& req, bool tls);

  // The session reports what happened to an inference request's outcome.
  void completed(const RequestKey& key) { stats_.completed(key); }
  // "200", "503", ... or "dropped" / "reset".
  void finished(const std::string& status) { stats_.finished(status); }

  ModeController& modes() { return modes_; }
  Stats& stats() { return stats_; }

  static constexpr std::size_t kMaxBody = 1024 * 1024;           // larger requests get 413
  static constexpr std::size_t kOversized = 20 * 1024 * 1024;    // body size of mode "oversized"
  static constexpr std::size_t kLongAnswer = 3 * 512 * 1024;     // answer text of mode "long_answer"

 private:
  Outcome inference(const Request& req, bool beacon_protocol, bool tls);
  Outcome answer(const Request& req, bool beacon_protocol, bool tls);
  // --limit-requests: counts one request in the current window; false beyond the limit.
  struct Published {
    std::int64_t remaining = 0;
    std::int64_t reset_ms = 0;
    bool over = false;
  };
  Published count_published();
  Outcome result(const std::string& id, unsigned version);
  void remember(const std::string& id, const std::string& body);

  const SimOptions options_;
  const std::string api_key_;
  ModeController modes_;
  Stats stats_;
  std::mutex mutex_;             // guards the fields below
  std::uint64_t sequence_ = 0;   // inference requests since start or /admin/reset (fail-rate, jitter draws)
  std::uint64_t next_id_ = 0;    // never reset: ids stay unique
  std::unordered_map<std::string, std::string> results_;  // id -> body, for mode "redirect"
  std::deque<std::string> result_order_;
  std::chrono::steady_clock::time_point window_start_{};  // --limit-requests window
  std::int64_t window_count_ = 0;
};

}  // namespace beacon::sim
