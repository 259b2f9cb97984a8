#include "modes.hpp"

#include <beacon/core/errors.hpp>
#include <beacon/core/json.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace beacon::sim {
namespace {

constexpr std::array<std::pair<Mode, std::string_view>, 13> kNames = {{
    {Mode::normal, "normal"},
    {Mode::fail503, "fail503"},
    {Mode::burst503, "burst503"},
    {Mode::rate429, "rate429"},
    {Mode::slow, "slow"},
    {Mode::malformed, "malformed"},
    {Mode::reset, "reset"},
    {Mode::oversized, "oversized"},
    {Mode::long_answer, "long_answer"},
    {Mode::redirect, "redirect"},
    {Mode::bad_request, "bad_request"},
    {Mode::down, "down"},
    {Mode::quota429, "quota429"},
}};

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

std::string_view to_string(Mode m) {
  for (const auto& [mode, name] : kNames)
    if (mode == m) return name;
  return "normal";
}

std::optional<Mode> mode_from_string(std::string_view s) {
  for (const auto& [mode, name] : kNames)
    if (name == s) return mode;
  return std::nullopt;
}

ModeSettings parse_mode_json(std::string_view body) {
  const json::Document doc = json::parse(body);
  json::require_object(doc, "mode request");
  ModeSettings s;
  const std::string name = json::get_string(doc, "mode");
  const auto mode = mode_from_string(name);
  if (!mode) {
    std::string known;
    for (const auto& [m, n] : kNames) known += (known.empty() ? "" : ", ") + std::string(n);
    throw BadInput("field 'mode': unknown mode '" + name + "' (one of " + known + ")");
  }
  s.mode = *mode;
  if (auto c = json::get_optional_int(doc, "count")) {
    if (*c < 0) throw BadInput("field 'count' must be >= 0");
    s.count = *c;
  }
  if (auto r = json::get_optional_int(doc, "retry_after_s")) {
    if (*r < 0 || *r > 86400) throw BadInput("field 'retry_after_s' must be from 0 to 86400");
    s.retry_after_s = *r;
  }
  if (auto d = json::get_optional_int(doc, "delay_ms")) {
    if (*d < 0 || *d > 3600000) throw BadInput("field 'delay_ms' must be from 0 to 3600000");
    s.delay_ms = *d;
  }
  if (auto h = json::get_optional_string(doc, "redirect_host")) {
    if (h->empty() || h->find_first_of(":/@ ") != std::string::npos) {
      throw BadInput("field 'redirect_host' must be a host name without port or path");
    }
    s.redirect_host = *h;
  }
  return s;
}

void ModeController::set(ModeSettings s) {
  if (s.mode == Mode::burst503 && s.count == 0) s.count = 1;
  std::lock_guard lock(mutex_);
  current_ = s;
  remaining_ = s.count;
}

ModeSettings ModeController::take() {
  std::lock_guard lock(mutex_);
  ModeSettings now = current_;
  if (current_.count > 0 && --remaining_ <= 0) {
    current_.mode = Mode::normal;  // keep retry/delay settings, forget the count
    current_.count = 0;
    remaining_ = 0;
  }
  return now;
}

std::string ModeController::to_json() const {
  std::lock_guard lock(mutex_);
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("mode");
  const auto name = to_string(current_.mode);
  w.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  w.Key("count");
  w.Int64(current_.count);
  w.Key("remaining");
  if (current_.count > 0) {
    w.Int64(remaining_);
  } else {
    w.Null();
  }
  w.Key("retry_after_s");
  w.Int64(current_.retry_after_s);
  w.Key("delay_ms");
  w.Int64(current_.delay_ms);
  if (!current_.redirect_host.empty()) {
    w.Key("redirect_host");
    w.String(current_.redirect_host.c_str());
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

double unit_draw(std::uint64_t seed, std::uint64_t n, std::uint64_t stream) {
  const std::uint64_t x = splitmix64(splitmix64(seed ^ (stream * 0x632be59bd9b4e019ull)) ^ n);
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

bool should_fail(std::uint64_t seed, std::uint64_t n, double rate) {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  return unit_draw(seed, n, 1) < rate;
}

std::int64_t delay_for(std::uint64_t seed, std::uint64_t n, std::int64_t latency_ms, std::int64_t jitter_ms) {
  if (jitter_ms <= 0) return std::max<std::int64_t>(0, latency_ms);
  const double u = unit_draw(seed, n, 2) * 2 - 1;  // [-1, 1)
  const auto d = latency_ms + static_cast<std::int64_t>(u * static_cast<double>(jitter_ms));
  return std::max<std::int64_t>(0, d);
}

}  // namespace beacon::sim
