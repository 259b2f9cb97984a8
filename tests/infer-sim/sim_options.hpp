#pragma once
// Command line of beacon-infer-sim (see usage()).
#include <cstdint>
#include <string>

#include <beacon/core/logging.hpp>

#include "modes.hpp"

namespace beacon::sim {

struct SimOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::int64_t latency_ms = 0;
  std::int64_t jitter_ms = 0;
  double fail_rate = 0;
  std::uint64_t seed = 1;
  int threads = 1;
  ModeSettings mode;        // --mode, --mode-count, --retry-after-s, --delay-ms
  std::string tls_cert;     // both or neither
  std::string tls_key;
  std::string api_key_env;  // when set, requests need "Authorization: Bearer $VAR"
  // --capacity N: inference requests beyond N open at once get 503 at once (0: no limit).
  std::int64_t capacity = 0;
  // --limit-requests N --limit-window-ms W: a published limit of N requests
  // per fixed window of W ms: every inference answer carries
  // x-ratelimit-limit/remaining/reset-requests; beyond N: 429 (0: no limit).
  std::int64_t limit_requests = 0;
  std::int64_t limit_window_ms = 60000;
  std::string log_level = "info";
  LogFormat log_format = LogFormat::text;
  bool help = false;
};

// Throws BadInput with a message naming the flag. --port is required.
SimOptions parse_sim_options(int argc, char** argv);
std::string sim_usage();

}  // namespace beacon::sim
