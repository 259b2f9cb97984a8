#include <beacon/infer/server_limits.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace beacon::infer {

namespace {

constexpr double kMaxResetS = 86400;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A non-negative decimal number at the front of s; advances s past it.
std::optional<double> take_number(std::string_view& s) {
  std::size_t n = 0;
  bool dot = false;
  while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || (s[n] == '.' && !dot))) {
    dot = dot || s[n] == '.';
    ++n;
  }
  if (n == 0 || (n == 1 && s[0] == '.')) return std::nullopt;
  const std::string digits(s.substr(0, n));
  s.remove_prefix(n);
  return std::strtod(digits.c_str(), nullptr);
}

std::optional<long long> parse_count(std::string_view text) {
  text = trim(text);
  long long v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_reset_duration(std::string_view text) {
  std::string_view s = trim(text);
  if (s.empty()) return std::nullopt;
  double seconds = 0;
  bool unit_seen = false;
  while (!s.empty()) {
    auto number = take_number(s);
    if (!number) return std::nullopt;
    double scale = 0;
    if (s.starts_with("ms")) {
      scale = 0.001;
      s.remove_prefix(2);
    } else if (s.starts_with("h")) {
      scale = 3600;
      s.remove_prefix(1);
    } else if (s.starts_with("m")) {
      scale = 60;
      s.remove_prefix(1);
    } else if (s.starts_with("s")) {
      scale = 1;
      s.remove_prefix(1);
    } else if (s.empty() && !unit_seen) {
      scale = 1;  // plain seconds
    } else {
      return std::nullopt;
    }
    unit_seen = true;
    seconds += *number * scale;
  }
  if (!std::isfinite(seconds) || seconds > kMaxResetS) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
}

PublishedLimits parse_published_limits(const std::map<std::string, std::string>& headers) {
  PublishedLimits out;
  auto get = [&](const char* name) -> const std::string* {
    auto it = headers.find(name);
    return it == headers.end() ? nullptr : &it->second;
  };
  if (auto* v = get("x-ratelimit-remaining-requests")) out.remaining_requests = parse_count(*v);
  if (auto* v = get("x-ratelimit-remaining-tokens")) out.remaining_tokens = parse_count(*v);
  if (auto* v = get("x-ratelimit-reset-requests")) out.reset_requests = parse_reset_duration(*v);
  if (auto* v = get("x-ratelimit-reset-tokens")) out.reset_tokens = parse_reset_duration(*v);
  return out;
}

bool is_quota_exhausted(int http_status, std::string_view body) {
  if (http_status != 429) return false;
  const std::string b = lower(body.substr(0, 4096));
  for (const char* phrase : {"insufficient_quota", "exceeded your current quota", "billing", "quota exceeded",
                             "quota_exceeded", "credit balance"}) {
    if (b.find(phrase) != std::string::npos) return true;
  }
  return false;
}

}  // namespace beacon::infer
