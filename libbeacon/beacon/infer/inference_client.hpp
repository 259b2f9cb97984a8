#pragma once
// InferenceClient: what the worker calls to run one inference. It owns the
// HTTP client and, per endpoint, the in-flight limit, the FIFO queue and the
// circuit breaker, and it retries with backoff (retry.hpp):
//
//  * The same request body goes out on every attempt.
//  * While attempts remain an outcome is never a failure: retryable errors
//    (connect, timeout, reset, 408, 429, 5xx) wait and try again. After
//    max_attempts of them the outcome fails with the last error's kind.
//    Non-retryable errors (other 4xx, unusable body, {"success": false}, TLS
//    verification) fail at once.
//  * At most max_in_flight requests per endpoint are on the wire; the rest
//    wait in order of submission (a retry keeps its original place).
//  * While the endpoint's circuit is open nothing is sent: waiting requests
//    neither fail nor use up attempts; one probe goes out after circuit_open_s.
//    A probe that fails uses up no attempt either (the failure is the
//    circuit's) and goes to the back of the queue, so an outage of any length
//    fails nothing and one request that always fails cannot be the probe
//    forever. `attempts` in the outcome still counts every request sent.
//  * abort_all() (shutdown) ends everything pending with aborted = true: the
//    caller requeues those messages and never marks them failed.
//
// Threading: every piece of state lives on one strand of the io_context, so
// the worker may run the io_context on any number of threads. submit(),
// abort_all(), in_flight() and stats() may be called from any thread. `done`
// and the attempt observer run on the strand; keep them short.
// Lifetime: destroy the client after the io_context has stopped, or after
// abort_all() once every `done` has run. Pending work holds the internals
// alive, so destroying it earlier is safe but those requests end aborted.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include <beacon/core/messages.hpp>
#include <beacon/infer/circuit_breaker.hpp>
#include <beacon/infer/endpoints.hpp>
#include <beacon/infer/protocol.hpp>
#include <beacon/infer/rate_limits.hpp>

namespace beacon::infer {

struct InferenceOutcome {
  bool ok = false;
  Output output;                   // when ok
  Receipt receipt;                 // when ok; also endpoint/http_status of the last attempt on failure
  std::optional<ErrorInfo> error;  // when !ok
  int attempts = 0;                // requests actually sent (circuit probes included)
  bool aborted = false;            // shutdown: requeue, never mark failed
  bool cancelled = false;          // cancel_queued() ended it before it reached the wire: never a failure
};

// Per-endpoint counters for the metrics module (a snapshot; counters only grow).
struct EndpointStats {
  std::string endpoint;  // redacted URL of the entry
  std::string region;
  std::string model;  // the entry's model ("*" possible)
  std::uint64_t requests = 0;       // attempts sent
  std::uint64_t succeeded = 0;      // outcomes ok
  std::uint64_t failed = 0;         // outcomes failed for good
  std::uint64_t aborted = 0;        // outcomes aborted
  std::uint64_t retries = 0;        // attempts followed by another attempt
  std::map<ErrorKind, std::uint64_t> errors_by_kind;  // per failed attempt: connect, timeout, reset, http, ...
  std::map<int, std::uint64_t> responses_by_status;     // per attempt that got an HTTP response
  CircuitState circuit = CircuitState::closed;
  bool quota_exhausted = false;      // paused by a quota-exhausted 429 (probing every quota_probe_s)
  int in_flight_limit = 0;           // the cap now (max_in_flight, or the adaptive one of "auto")
  std::uint64_t rate_limited = 0;    // times a request waited for fleet-wide capacity
  std::uint64_t server_limited = 0;  // times sending paused on the server's published limits
  std::uint64_t circuit_opened = 0;  // times the circuit went to open
  std::size_t in_flight = 0;
  std::size_t queued = 0;  // waiting for a slot, the circuit, or a backoff to end
  std::uint64_t latency_count = 0;   // attempts that got an HTTP response
  double latency_sum_ms = 0;
  std::vector<double> recent_latency_ms;  // the last kRecentLatencies samples, oldest first
  static constexpr std::size_t kRecentLatencies = 256;
};

// One finished attempt, for histograms. Delivered on the client's strand.
struct AttemptEvent {
  std::string endpoint;  // redacted URL of the entry, as in EndpointStats
  std::string region;
  std::string model;
  int attempt = 1;
  int http_status = 0;         // 0 when no response
  std::optional<ErrorKind> error_kind;  // nullopt on success
  double latency_ms = 0;
  bool will_retry = false;
};

class InferenceClient {
 public:
  struct Options {
    // Uniform draws in [0, 1) for backoff jitter; default: a seeded mt19937_64.
    std::function<double()> random01;
    // Fleet-wide requests/tokens per minute (rate_limits.hpp). Null: a
    // process-local one (each process enforces the whole limit alone).
    std::shared_ptr<FleetRateLimits> rate_limits;
  };

  InferenceClient(boost::asio::io_context& ioc, EndpointTable table);
  InferenceClient(boost::asio::io_context& ioc, EndpointTable table, Options options);
  ~InferenceClient();
  InferenceClient(const InferenceClient&) = delete;
  InferenceClient& operator=(const InferenceClient&) = delete;

  const EndpointTable& table() const;

  // Runs one request with retries, backoff, circuit breaker and max_in_flight
  // (per endpoint, excess requests queue in FIFO order). Calls `done` exactly
  // once, on the io_context. `ep` is copied; endpoints are told apart by
  // (region, model, url). After abort_all() every submit ends aborted at once.
  void submit(const EndpointConfig& ep, InferenceRequest req, std::function<void(InferenceOutcome)> done);

  // Shutdown: every pending, queued, in-flight or backing-off request ends
  // with aborted = true (in-flight connections are closed).
  void abort_all();

  // Cancel stops the spending (SPEC decisions): every request of this client
  // not on the wire now (waiting for an endpoint slot, for the circuit, or in
  // a backoff between attempts) whose request `match` accepts ends at once
  // with cancelled = true, without any (further) endpoint call. Requests on
  // the wire finish normally. `match` runs on the client's strand.
  void cancel_queued(std::function<bool(const InferenceRequest&)> match);

  // SIGHUP: limits of entries already known (same region, model and url)
  // take the new file's values: requests/tokens per minute, max_in_flight
  // and its auto bounds, quota_probe_s. Other changes need a restart; the
  // entries that are not found are logged.
  // Call from any thread; applied on the strand.
  void reconfigure(const EndpointTable& table);

  std::size_t in_flight() const;  // requests on the wire now, all endpoints
  std::size_t pending() const;    // submitted and not yet done, all endpoints
  std::vector<EndpointStats> stats() const;
  void set_attempt_observer(std::function<void(const AttemptEvent&)> observer);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace beacon::infer
