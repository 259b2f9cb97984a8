#pragma once
// The endpoint file of SPEC.md: which GPU endpoint serves which (region, model).
//
//   {"defaults": {...any entry field but region/url...},
//    "endpoints": [{"region": "us-east", "model": "*", "url": "http://gpu:8000/v1"}, ...]}
//
// Every entry starts from the built-in defaults below, then the file's
// "defaults" object, then its own fields. Loading validates everything once,
// so a worker refuses to start on a bad file instead of failing message by
// message; errors are BadInput naming the entry and field ("endpoints[2].url: ...").
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <beacon/infer/pricing.hpp>
#include <beacon/infer/url.hpp>

namespace beacon::infer {

enum class Protocol { openai, beacon };
std::string_view to_string(Protocol p);

struct EndpointConfig {
  std::string region;
  std::string model = "*";  // "*" = any model
  std::string url;          // as written in the file (may carry credentials: never log it)
  Url parsed_url;           // `url` split; use parsed_url.redacted() for logs and receipts
  Protocol protocol = Protocol::openai;
  std::string served_model;  // name sent to the server; empty = the job's model id
  std::string api_key_env;   // name of the variable holding the bearer token
  std::string api_key;       // its value, read at load. A secret: never log, never print.
  std::string ca_file;       // PEM CAs to trust for https; empty = system store
  double timeout_s = 120;          // whole attempt, redirects included
  double connect_timeout_s = 90;   // generous: GPU endpoints cold-start for a minute or more
  int max_in_flight = 64;          // open requests from this process to this endpoint
  // max_in_flight: "auto": the cap adapts (aimd.hpp) between min_in_flight and
  // max_in_flight_limit; max_in_flight is then max_in_flight_limit.
  bool auto_in_flight = false;
  int min_in_flight = 1;
  int max_in_flight_limit = 256;
  // Fleet-wide limits (0 = none): they hold for the sum of every worker using
  // the same url and api key (rate_limits.hpp), whatever region or model.
  std::int64_t requests_per_minute = 0;
  std::int64_t tokens_per_minute = 0;
  // The shared limit's name: a SHA-256 of url + api key (hex). Never the key itself.
  std::string limit_key;
  // A quota-exhausted 429 (insufficient_quota, billing limit) pauses the
  // endpoint; one probe request goes out every quota_probe_s.
  double quota_probe_s = 60;
  int max_attempts = 8;
  int backoff_initial_ms = 500;
  int backoff_max_ms = 30000;      // also caps a server's Retry-After (see retry.hpp)
  int circuit_failure_threshold = 5;
  double circuit_open_s = 10;
  std::size_t max_response_bytes = 4 * 1024 * 1024;  // at most kMaxResponseBytes (messages.hpp)
  // Hosts a redirect may lead to besides the URL's own origin (lower case,
  // IPv6 without brackets). Empty: same origin only.
  std::vector<std::string> redirect_hosts;
  // price_per_million_input_tokens, price_per_million_output_tokens,
  // price_per_second (USD, >= 0; all 0 = unpriced). See pricing.hpp.
  Prices prices;

  // Index in the file's "endpoints" array: identifies the entry in stats and errors.
  std::size_t index = 0;
};

class EndpointTable {
 public:
  EndpointTable() = default;
  // Throws BadInput("endpoint file PATH: ...") when unreadable or invalid.
  static EndpointTable load_file(const std::string& path);
  // Throws BadInput naming the entry index and field.
  static EndpointTable parse(std::string_view text);

  // Most specific wins: an entry for exactly `model` beats the region's "*" entry.
  // nullptr when the region has neither.
  const EndpointConfig* find(std::string_view region, std::string_view model) const;
  bool has_region(std::string_view region) const;
  const std::vector<EndpointConfig>& entries() const { return entries_; }
  // SIGHUP: the prices of `fresh`'s entries that are also here (same region,
  // model and URL) replace these; returns how many entries changed. Entries
  // are never added or removed (requests point into them; routing changes
  // need a restart).
  std::size_t take_prices_from(const EndpointTable& fresh);

 private:
  std::vector<EndpointConfig> entries_;
};

}  // namespace beacon::infer
