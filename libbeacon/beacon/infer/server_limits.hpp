#pragma once
// What a server says about its own limits, read from a response:
//  * published limits (OpenAI-compatible gateways): x-ratelimit-remaining-requests,
//    x-ratelimit-remaining-tokens, x-ratelimit-reset-requests / -tokens
//    ("1s", "6m0s", "20ms", "1h2m3.5s", or plain seconds "0.5");
//  * a quota-exhausted 429 (`insufficient_quota`, a billing limit), which is
//    not an ordinary rate limit: waiting a few seconds does not bring it back.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace beacon::infer {

struct PublishedLimits {
  std::optional<long long> remaining_requests;
  std::optional<long long> remaining_tokens;
  std::optional<std::chrono::milliseconds> reset_requests;
  std::optional<std::chrono::milliseconds> reset_tokens;
  bool any() const { return remaining_requests || remaining_tokens; }
};

// Go-style durations as OpenAI sends them, or plain seconds; nullopt when unreadable
// or above a day (a bogus header must not park an endpoint for longer).
std::optional<std::chrono::milliseconds> parse_reset_duration(std::string_view text);

// From lower-case header names (HttpResponse::headers). Unreadable values are ignored.
PublishedLimits parse_published_limits(const std::map<std::string, std::string>& headers);

// A 429 whose body says the quota or the billing limit is gone.
bool is_quota_exhausted(int http_status, std::string_view body);

}  // namespace beacon::infer
