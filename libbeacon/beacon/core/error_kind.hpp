#pragma once
// Why an attempt or an execution failed: the one list of kinds, shared by the
// HTTP client, the retry policy, the worker's events, metrics labels and the
// rows (executions.error->>'kind'). The wire format and the database carry
// to_string(kind); the strings are part of the contract (README, "Error kinds").
#include <iosfwd>
#include <optional>
#include <string_view>

namespace beacon {

enum class ErrorKind {
  // Transport, from the HTTP client (infer/http_client.hpp):
  connect,           // no connection (DNS, refused, handshake timed out): the request was never sent
  timeout,           // total_timeout passed after the request was sent
  tls,               // certificate or TLS protocol failure
  reset,             // connection closed or reset before the response was complete
  oversized,         // body or headers larger than the response bound (one bound end to end)
  protocol,          // not HTTP, bad redirect, unusable body
  redirect_refused,  // a redirect to another origin not in redirect_hosts
  aborted,           // cancelled through the request's Cancellation (shutdown, cancel)
  // From the endpoint's answer:
  http,              // an HTTP status that is not success (after retries where retryable)
  provider,          // a 200 whose body says the server refused ({"success": false}, {"error": …})
  // From the worker:
  bad_message,       // the execution message cannot be turned into a request
  no_endpoint,       // no endpoint configured for (region, model)
  cancelled,         // the job was cancelled before the request reached the endpoint
  internal,          // an unexpected exception (a bug): logged critical
  unknown,           // an event from a newer part whose kind this build does not know
};

std::string_view to_string(ErrorKind kind);
// nullopt for a string that names no kind (the caller decides: an event keeps
// `unknown`, a test fails).
std::optional<ErrorKind> parse_error_kind(std::string_view text);
// For logs and test failure messages.
std::ostream& operator<<(std::ostream& out, ErrorKind kind);

}  // namespace beacon
