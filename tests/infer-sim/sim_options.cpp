#include "sim_options.hpp"

#include <beacon/core/cli.hpp>
#include <beacon/core/errors.hpp>
#include <beacon/core/logging.hpp>

#include <climits>
#include <cstdlib>

namespace beacon::sim {

std::string sim_usage() {
  return R"(usage: beacon-infer-sim --port P [options]

OpenAI-compatible stand-in for a GPU inference endpoint (demo, tests, benchmarks).
Prints "listening on HOST:PORT" on stdout once ready; runs until SIGTERM/SIGINT (exit 0).

  --port P              port to listen on; 0 picks a free one (required)
  --host H              address to bind (default 127.0.0.1)
  --latency-ms M        simulated inference time per request (default 0)
  --jitter-ms J         latency varies uniformly by +-J ms (default 0)
  --fail-rate F         fraction 0..1 of requests answered 503 at once (default 0)
  --seed S              seed for --fail-rate and jitter draws (default 1)
  --threads N           I/O threads (default 1)
  --mode M              initial failure mode: normal fail503 burst503 rate429 slow
                        malformed reset oversized long_answer redirect bad_request down
  --mode-count N        the mode applies to the next N requests, then "normal" (0: until changed)
  --retry-after-s R     Retry-After of mode rate429 (default 1)
  --delay-ms D          delay of mode slow (default 30000)
  --tls-cert FILE       serve HTTPS with this PEM certificate chain (needs --tls-key)
  --tls-key FILE        PEM private key for --tls-cert
  --api-key-env VAR     require "Authorization: Bearer <value of $VAR>" (else 401)
  --capacity N          inference requests beyond N open at once get 503 at once (default 0: none)
  --limit-requests N    publish a limit of N requests per window (x-ratelimit-* headers), 429 beyond it
  --limit-window-ms W   the window of --limit-requests (default 60000)
  --log-level L         trace debug info warn error (default info)
  --log-format F        text or json (default text)
  --help                this text

Endpoints:
  POST /v1/chat/completions   OpenAI chat completion
  POST /beacon                Modal-style {model, prompt, system_prompt, temperature, max_tokens, region}
  GET  /result/<id>           result behind a 303 of mode "redirect"
  GET  /v1/models             models list (empty)
  GET  /stats                 request counters (requests, completed, duplicates, by_key, ...)
  POST /admin/mode            {"mode": M, "count": N, "retry_after_s": R, "delay_ms": D}
  GET  /admin/mode            current mode
  POST /admin/reset           zero the counters
  GET  /healthz               200 ok
)";
}

SimOptions parse_sim_options(int argc, char** argv) {
  const CliArgs args(argc, argv, 1,
                     {"--port", "--host", "--latency-ms", "--jitter-ms", "--fail-rate", "--seed", "--threads",
                      "--mode", "--mode-count", "--retry-after-s", "--delay-ms", "--tls-cert", "--tls-key",
                      "--api-key-env", "--log-level", "--log-format", "--capacity", "--limit-requests",
                      "--limit-window-ms"},
                     {"--help"});
  SimOptions o;
  if (args.has("--help")) {
    o.help = true;
    return o;
  }
  if (!args.positionals().empty()) throw BadInput("unexpected argument '" + args.positionals().front() + "'");
  if (!args.has("--port")) throw BadInput("--port is required (0 picks a free port)");
  o.port = static_cast<int>(args.get_int("--port", 0, 0, 65535));
  o.host = args.get_or("--host", o.host);
  if (o.host.empty()) throw BadInput("--host must not be empty");
  o.latency_ms = args.get_int("--latency-ms", 0, 0, 3600000);
  o.jitter_ms = args.get_int("--jitter-ms", 0, 0, 3600000);
  if (auto f = args.get("--fail-rate")) {
    char* end = nullptr;
    o.fail_rate = std::strtod(f->c_str(), &end);
    if (f->empty() || *end != '\0' || !(o.fail_rate >= 0 && o.fail_rate <= 1))
      throw BadInput("--fail-rate must be a number from 0 to 1");
  }
  o.seed = static_cast<std::uint64_t>(args.get_int("--seed", 1, 0, LONG_MAX));
  o.threads = static_cast<int>(args.get_int("--threads", 1, 1, 256));
  if (auto m = args.get("--mode")) {
    auto mode = mode_from_string(*m);
    if (!mode) throw BadInput("--mode: unknown mode '" + *m + "'");
    o.mode.mode = *mode;
  }
  o.mode.count = args.get_int("--mode-count", 0, 0, LONG_MAX);
  o.mode.retry_after_s = args.get_int("--retry-after-s", 1, 0, 86400);
  o.mode.delay_ms = args.get_int("--delay-ms", 30000, 0, 3600000);
  o.tls_cert = args.get_or("--tls-cert", "");
  o.tls_key = args.get_or("--tls-key", "");
  if (o.tls_cert.empty() != o.tls_key.empty()) throw BadInput("--tls-cert and --tls-key go together");
  o.api_key_env = args.get_or("--api-key-env", "");
  o.capacity = args.get_int("--capacity", 0, 0, 1000000);
  o.limit_requests = args.get_int("--limit-requests", 0, 0, 1000000000);
  o.limit_window_ms = args.get_int("--limit-window-ms", 60000, 1, 86400000);
  o.log_level = parse_log_level("--log-level", args.get_or("--log-level", o.log_level));
  o.log_format = parse_log_format("--log-format", args.get_or("--log-format", "text"));
  return o;
}

}  // namespace beacon::sim
