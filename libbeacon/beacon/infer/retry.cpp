#include <beacon/infer/retry.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <string>
#include <vector>

#include <beacon/core/backoff.hpp>

namespace beacon::infer {

Verdict classify_http_status(int status) {
  if (status >= 200 && status < 300) return Verdict::success;
  if (status == 408 || status == 429 || (status >= 500 && status < 600)) return Verdict::retry;
  return Verdict::fail;
}

Verdict classify_transport_error(ErrorKind kind) {
  if (kind == ErrorKind::connect || kind == ErrorKind::timeout || kind == ErrorKind::reset) return Verdict::retry;
  return Verdict::fail;
}

namespace {

std::optional<int> month_index(std::string_view m) {
  static constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                               "jul", "aug", "sep", "oct", "nov", "dec"};
  std::string lower(m);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (lower == kMonths[i]) return static_cast<int>(i);
  }
  return std::nullopt;
}

// Splits on spaces, commas, colons and dashes: all three date forms reduce to
// the same tokens in different orders.
std::vector<std::string_view> tokens(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::string_view(" ,:-").find(s[i]) != std::string_view::npos) ++i;
    std::size_t j = i;
    while (j < s.size() && std::string_view(" ,:-").find(s[j]) == std::string_view::npos) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<int> number(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view s) {
  auto t = tokens(s);
  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT   → Sun 06 Nov 1994 08 49 37 GMT
  // RFC 850:     Sunday, 06-Nov-94 08:49:37 GMT  → Sunday 06 Nov 94 08 49 37 GMT
  // asctime:     Sun Nov  6 08:49:37 1994        → Sun Nov 6 08 49 37 1994
  std::optional<int> day, month, year, hh, mm, ss;
  if (t.size() == 8) {
    day = number(t[1]), month = month_index(t[2]), year = number(t[3]);
    hh = number(t[4]), mm = number(t[5]), ss = number(t[6]);
    if (year && *year < 100) *year += *year < 70 ? 2000 : 1900;
  } else if (t.size() == 7) {
    month = month_index(t[1]), day = number(t[2]);
    hh = number(t[3]), mm = number(t[4]), ss = number(t[5]), year = number(t[6]);
  }
  if (!day || !month || !year || !hh || !mm || !ss) return std::nullopt;
  if (*day < 1 || *day > 31 || *hh > 23 || *mm > 59 || *ss > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month;
  tm.tm_mday = *day;
  tm.tm_hour = *hh;
  tm.tm_min = *mm;
  tm.tm_sec = *ss;
  const std::time_t when = timegm(&tm);
  if (when == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(when);
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    long long seconds = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc::result_out_of_range) return std::chrono::hours(24);  // absurd, capped later anyway
    if (ec != std::errc{} || p != value.data() + value.size()) return std::nullopt;
    return std::chrono::seconds(std::min<long long>(seconds, 86400));
  }
  auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  if (*when <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(*when - now);
}

std::chrono::milliseconds backoff_delay(int retry, const BackoffPolicy& policy,
                                        std::optional<std::chrono::milliseconds> retry_after, double uniform01) {
  const std::chrono::milliseconds initial(std::max(1, policy.initial_ms));
  const auto max = std::max(initial, std::chrono::milliseconds(policy.max_ms));
  auto delay = full_jitter_delay(retry - 1, BackoffShape{initial, max, 2.0}, uniform01);
  if (retry_after) delay = std::max(delay, *retry_after);
  return std::min(delay, max);
}

}  // namespace beacon::infer
