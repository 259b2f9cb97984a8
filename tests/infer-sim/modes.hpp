#pragma once
// Failure modes of the simulated endpoint, set at start (flags) or at run time
// (POST /admin/mode), and the deterministic --fail-rate / jitter draws.
//
// A mode applies to inference requests only (/v1/chat/completions, /beacon);
// the admin, stats, result and health endpoints always answer. With count N > 0
// a mode applies to the next N inference requests, then the sim goes back to
// "normal"; with count 0 it stays until changed ("burst503" defaults to 1).
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace beacon::sim {

enum class Mode {
  normal,       // answer after latency +- jitter (and --fail-rate 503s)
  fail503,      // 503 at once
  burst503,     // 503 at once for the next `count` requests
  rate429,      // 429 with Retry-After: retry_after_s
  slow,         // answer normally after delay_ms instead of the latency
  malformed,    // 200 whose body is not valid JSON
  reset,        // headers and part of the body, then the connection is closed
  oversized,    // 200 with a valid 20 MiB body
  long_answer,  // 200 with a valid answer of 1.5 MiB of text (within beacon's bound)
  redirect,     // 303 to /result/<id>, which answers the result
  bad_request,  // 400 with an error JSON
  down,         // connection closed without any answer
  quota429,     // 429 whose body says insufficient_quota (OpenAI's "quota exhausted")
};

std::string_view to_string(Mode m);
std::optional<Mode> mode_from_string(std::string_view s);

struct ModeSettings {
  Mode mode = Mode::normal;
  std::int64_t count = 0;      // 0: until changed
  std::int64_t retry_after_s = 1;
  std::int64_t delay_ms = 30000;
  // Mode "redirect": the host the 303 points to (the sim's own port kept);
  // empty: the host the request came to. Lets a test send the worker to
  // another origin ("localhost" for a sim reached as 127.0.0.1).
  std::string redirect_host = "";  // (an initialiser: brace-initialised settings may leave it out)
};

// {"mode": "...", "count": N, "retry_after_s": R, "delay_ms": D, "redirect_host": H}; absent
// fields keep their defaults. Throws BadInput naming the bad field.
ModeSettings parse_mode_json(std::string_view body);

// Thread-safe holder of the current mode.
class ModeController {
 public:
  explicit ModeController(ModeSettings initial = {}) { set(initial); }
  void set(ModeSettings s);
  // The settings that apply to one inference request; consumes one of `count`.
  ModeSettings take();
  // {"mode","count","remaining","retry_after_s","delay_ms"}; remaining is null
  // when the mode lasts until changed.
  std::string to_json() const;

 private:
  mutable std::mutex mutex_;
  ModeSettings current_;
  std::int64_t remaining_ = 0;
};

// Uniform draw in [0, 1) for request number n under `seed`: stable across runs.
double unit_draw(std::uint64_t seed, std::uint64_t n, std::uint64_t stream);
// True for about `rate` of the request numbers.
bool should_fail(std::uint64_t seed, std::uint64_t n, double rate);
// latency +- jitter (uniform, never below 0) for request number n.
std::int64_t delay_for(std::uint64_t seed, std::uint64_t n, std::int64_t latency_ms, std::int64_t jitter_ms);

}  // namespace beacon::sim
