#pragma once
// Retry policy as pure functions: which outcomes are worth another attempt
// and how long to wait before it. Randomness and time come in as arguments so
// the tests pin every number.
//
// Retryable (the endpoint is down or overloaded, SPEC.md invariant 6):
//   transport errors connect, timeout, reset; HTTP 408, 429 and 5xx.
// Not retryable (the same request would fail the same way):
//   other 4xx and unfollowed 3xx; transport errors tls (certificate or
//   handshake failure: configuration), oversized, protocol; unusable or
//   {"success": false} bodies (kinds protocol, provider).
#include <chrono>
#include <optional>
#include <string_view>

#include <beacon/core/error_kind.hpp>

namespace beacon::infer {

enum class Verdict { success, retry, fail };

Verdict classify_http_status(int status);
Verdict classify_transport_error(ErrorKind kind);

// Parses a Retry-After header: delta-seconds ("120") or an HTTP-date
// ("Wed, 21 Oct 2015 07:28:00 GMT", also the obsolete RFC 850 and asctime
// forms). A date in the past gives 0. nullopt when unparsable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

struct BackoffPolicy {
  int initial_ms = 500;
  int max_ms = 30000;
};

// Delay before retry number `retry` (1 = the wait after the first failed attempt).
// beacon's one backoff formula (core/backoff.hpp), full jitter: uniform in
// [0, min(max, initial * 2^(retry-1))], `uniform01` being a draw from [0, 1). A server's Retry-After is honoured as a
// lower bound, and the result is capped at max_ms in every case: a server asking
// for an hour must not park a worker's slot that long (it retries, is told to
// wait again, and the message still never fails while attempts remain).
std::chrono::milliseconds backoff_delay(int retry, const BackoffPolicy& policy,
                                        std::optional<std::chrono::milliseconds> retry_after, double uniform01);

}  // namespace beacon::infer
