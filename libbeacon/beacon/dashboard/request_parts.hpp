#pragma once
// Taking a request target apart: path segments and query parameters,
// percent-decoded, and the cookies of a Cookie header. Everything here treats
// its input as hostile: bad escapes and NUL bytes are refused, not repaired.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::dashboard {

// "%2F" -> "/", and '+' -> ' ' when `plus_is_space` (query strings).
// nullopt for a malformed escape or a decoded NUL byte.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

struct Target {
  std::vector<std::string> segments;         // "/jobs/a%20b/x" -> {"jobs", "a b", "x"}
  std::map<std::string, std::string> query;  // last value of a repeated name wins
};
// nullopt when the target does not start with '/' or anything fails to decode.
std::optional<Target> parse_target(std::string_view target);

// The value of cookie `name` in a Cookie header ("a=1; b=2"), or "".
std::string cookie_value(std::string_view header, std::string_view name);

// Compares without an early exit, so the time taken does not tell how much of
// a guessed token was right.
bool constant_time_equal(std::string_view a, std::string_view b);

// A query-string value with '&', '=', '%', '+', '#' and non-ASCII escaped.
std::string percent_encode(std::string_view text);

}  // namespace beacon::dashboard
