#pragma once
// The wire format of SPEC.md ("v": 1, JSON, UTF-8): execution messages on
// beacon.exec and result events on beacon.results. decode_* throw BadInput
// with a reason naming the field; the reason becomes the dead-letter header.
#include <optional>
#include <string>
#include <string_view>

#include <beacon/core/cancel_reason.hpp>
#include <beacon/core/error_kind.hpp>
#include <beacon/core/errors.hpp>
#include <beacon/core/ids.hpp>
#include <beacon/core/reuse.hpp>
#include <beacon/core/state_machine.hpp>

namespace beacon {

inline constexpr int kWireVersion = 1;
// Upper bound for an execution message body (the producer's spec limits keep
// prompts far below it).
inline constexpr std::size_t kMaxMessageBytes = 1 << 20;
// One bound end to end (SPEC.md, decisions): a worker reads at most
// kMaxResponseBytes of an endpoint's response body (an endpoint entry may set
// less, never more); the result event it publishes is at most kMaxEventBytes
// (the answer JSON-escaped, at most 6x for control characters, plus the
// receipt), and the progress-writer accepts and stores every event up to that
// size. A response body over the bound fails its execution once, with
// error.kind "oversized" (never retried); it never reaches the broker.
inline constexpr std::size_t kMaxResponseBytes = 4 << 20;
inline constexpr std::size_t kMaxEventBytes = 32 << 20;

struct ExecutionMessage {
  ExecutionKey key;
  std::string prompt;
  std::string system_prompt;  // the job's template; {region}/{model} filled by the worker
  std::string params_json = "{}";  // JSON object: temperature, max_tokens, seed, ...
  std::string enqueued_at;         // RFC 3339
  // 1 for the first submit of a job, n for its n-th re-submit. A worker
  // asks Postgres before inference for redelivered messages and for
  // submission > 1, so a finished execution never reaches the GPU again.
  int submission = 1;
  // The job's "reuse" (core/reuse.hpp): "reuse": "completed" on the wire,
  // absent = none.
  ReusePolicy reuse = ReusePolicy::none;
};

enum class Classification { answered, refused, empty };
std::string_view to_string(Classification c);
std::optional<Classification> parse_classification(std::string_view s);

struct Output {
  std::string text;
  Classification classification = Classification::answered;
  std::string finish_reason;
  std::optional<long> prompt_tokens;
  std::optional<long> completion_tokens;
};

struct Receipt {
  std::string endpoint;     // URL without credentials
  std::string provider_id;  // the server's response id, when it gives one
  int http_status = 0;
  double latency_ms = 0;
  std::string provider_receipt_json;  // raw JSON object from a "beacon" endpoint, or empty
};

struct ErrorInfo {
  ErrorInfo() = default;
  ErrorInfo(ErrorKind k, std::string m, std::optional<CancelReason> r = std::nullopt)
      : kind(k), message(std::move(m)), reason(r) {}
  ErrorKind kind = ErrorKind::unknown;
  std::string message;
  // Kind `cancelled` only: why the job stopped (wire: error.reason; stored
  // in executions.error). Absent = a plain cancel.
  std::optional<CancelReason> reason;
};

struct ResultEvent {
  EventKind event = EventKind::started;
  ExecutionKey key;
  std::string worker_id;
  int attempt = 1;
  std::string started_at;    // RFC 3339, may be empty
  std::string completed_at;  // RFC 3339, may be empty
  std::optional<Output> output;
  std::optional<Receipt> receipt;
  std::optional<ErrorInfo> error;
  // The submission of the execution message this event is about (SPEC
  // decisions, D1): the progress-writer ignores a started/failed/cancelled
  // of an older submission than the row's. Absent on the wire = 1.
  int submission = 1;
  // The seed the request carried (params.seed + sample), when one was sent.
  std::optional<std::int64_t> seed;
  // What the answer cost (USD) by the endpoint entry's prices; absent when
  // the entry has none (infer/pricing.hpp).
  std::optional<double> cost_usd;
  // SHA-256 (hex) of the exact request (infer/request_digest.hpp), carried by
  // a completed event so later jobs with "reuse": "completed" can find it.
  std::optional<std::string> request_digest;
  // Set on a completed event whose answer was copied from an earlier job's
  // completed execution (this key) instead of calling the endpoint.
  std::optional<ExecutionKey> reused_from;
};

std::string encode(const ExecutionMessage& m);
std::string encode(const ResultEvent& e);
ExecutionMessage decode_execution(std::string_view body);
ResultEvent decode_event(std::string_view body);

}  // namespace beacon
