#include <beacon/infer/endpoints.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <openssl/evp.h>

#include <beacon/core/errors.hpp>
#include <beacon/core/json.hpp>
#include <beacon/core/messages.hpp>

namespace beacon::infer {

std::string_view to_string(Protocol p) { return p == Protocol::openai ? "openai" : "beacon"; }

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& field, const std::string& what) {
  throw BadInput(where + (field.empty() ? "" : "." + field) + ": " + what);
}

std::string get_str(const json::Value& v, const std::string& where, const std::string& field) {
  if (!v.IsString()) fail(where, field, "must be a string");
  return std::string(v.GetString(), v.GetStringLength());
}

double get_positive(const json::Value& v, const std::string& where, const std::string& field) {
  if (!v.IsNumber()) fail(where, field, "must be a number");
  double d = v.GetDouble();
  if (!(d > 0) || !std::isfinite(d)) fail(where, field, "must be > 0");
  return d;
}

double get_price(const json::Value& v, const std::string& where, const std::string& field) {
  if (!v.IsNumber()) fail(where, field, "must be a number (USD)");
  double d = v.GetDouble();
  if (!(d >= 0) || !std::isfinite(d)) fail(where, field, "must be >= 0");
  return d;
}

template <typename Int>
Int get_positive_int(const json::Value& v, const std::string& where, const std::string& field) {
  if (!v.IsInt64() && !v.IsUint64()) fail(where, field, "must be an integer");
  if (!v.IsInt64()) fail(where, field, "is too large");
  const std::int64_t i = v.GetInt64();
  if (i <= 0) fail(where, field, "must be > 0");
  if (static_cast<std::uint64_t>(i) > static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) {
    fail(where, field, "is too large");
  }
  return static_cast<Int>(i);
}

// ["gpu-results.example.com", "[::1]"]: host names or addresses, compared
// with a redirect's host as parse_url writes it (lower case, no brackets).
std::vector<std::string> get_hosts(const json::Value& v, const std::string& where, const std::string& field) {
  if (!v.IsArray()) fail(where, field, "must be an array of host names");
  std::vector<std::string> hosts;
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    const std::string item = field + "[" + std::to_string(i) + "]";
    std::string host = get_str(v[i], where, item);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool ipv6 = std::count(host.begin(), host.end(), ':') >= 2;
    if (host.empty() || host.find_first_of("/@?# ") != std::string::npos ||
        (!ipv6 && host.find(':') != std::string::npos)) {
      fail(where, item, "must be a bare host name, without scheme, port or path");
    }
    hosts.push_back(std::move(host));
  }
  return hosts;
}

// Larger limits are typos, not rate limits (and would overflow the arithmetic).
constexpr std::int64_t kMaxPerMinute = 1'000'000'000'000;

// SHA-256 of url + key: entries pointing at the same server with the same
// credentials share one fleet-wide limit; the key itself never leaves memory.
std::string limit_key_of(const std::string& url, const std::string& api_key) {
  const std::string material = url + '\n' + api_key;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(material.data(), material.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

// Applies the fields of one JSON object (the "defaults" or an entry) onto cfg.
// Unknown fields are errors: a misspelt "timeout" silently ignored would be
// a two-minute default nobody asked for.
void apply(const json::Value& obj, EndpointConfig& cfg, const std::string& where, bool is_defaults) {
  if (!obj.IsObject()) fail(where, "", "must be a JSON object");
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    const std::string name(it->name.GetString(), it->name.GetStringLength());
    const json::Value& v = it->value;
    if (name == "region" || name == "url") {
      if (is_defaults) fail(where, name, "belongs in each entry, not in defaults");
      (name == "region" ? cfg.region : cfg.url) = get_str(v, where, name);
    } else if (name == "model") {
      cfg.model = get_str(v, where, name);
      if (cfg.model.empty()) fail(where, name, "must not be empty (use \"*\" for any model)");
    } else if (name == "protocol") {
      std::string p = get_str(v, where, name);
      if (p == "openai") {
        cfg.protocol = Protocol::openai;
      } else if (p == "beacon") {
        cfg.protocol = Protocol::beacon;
      } else {
        fail(where, name, "unknown protocol '" + p + "' (expected openai or beacon)");
      }
    } else if (name == "served_model") {
      cfg.served_model = get_str(v, where, name);
    } else if (name == "api_key_env") {
      cfg.api_key_env = get_str(v, where, name);
    } else if (name == "ca_file") {
      cfg.ca_file = get_str(v, where, name);
    } else if (name == "timeout_s") {
      cfg.timeout_s = get_positive(v, where, name);
    } else if (name == "connect_timeout_s") {
      cfg.connect_timeout_s = get_positive(v, where, name);
    } else if (name == "circuit_open_s") {
      cfg.circuit_open_s = get_positive(v, where, name);
    } else if (name == "max_in_flight") {
      if (v.IsString()) {
        if (get_str(v, where, name) != "auto") fail(where, name, "must be a positive integer or \"auto\"");
        cfg.auto_in_flight = true;
      } else {
        cfg.max_in_flight = get_positive_int<int>(v, where, name);
        cfg.auto_in_flight = false;
      }
    } else if (name == "min_in_flight") {
      cfg.min_in_flight = get_positive_int<int>(v, where, name);
    } else if (name == "max_in_flight_limit") {
      cfg.max_in_flight_limit = get_positive_int<int>(v, where, name);
    } else if (name == "requests_per_minute") {
      cfg.requests_per_minute = get_positive_int<std::int64_t>(v, where, name);
      if (cfg.requests_per_minute > kMaxPerMinute) fail(where, name, "at most " + std::to_string(kMaxPerMinute));
    } else if (name == "tokens_per_minute") {
      cfg.tokens_per_minute = get_positive_int<std::int64_t>(v, where, name);
      if (cfg.tokens_per_minute > kMaxPerMinute) fail(where, name, "at most " + std::to_string(kMaxPerMinute));
    } else if (name == "quota_probe_s") {
      cfg.quota_probe_s = get_positive(v, where, name);
    } else if (name == "max_attempts") {
      cfg.max_attempts = get_positive_int<int>(v, where, name);
    } else if (name == "backoff_initial_ms") {
      cfg.backoff_initial_ms = get_positive_int<int>(v, where, name);
    } else if (name == "backoff_max_ms") {
      cfg.backoff_max_ms = get_positive_int<int>(v, where, name);
    } else if (name == "circuit_failure_threshold") {
      cfg.circuit_failure_threshold = get_positive_int<int>(v, where, name);
    } else if (name == "redirect_hosts") {
      cfg.redirect_hosts = get_hosts(v, where, name);
    } else if (name == "price_per_million_input_tokens") {
      cfg.prices.per_million_input_tokens = get_price(v, where, name);
    } else if (name == "price_per_million_output_tokens") {
      cfg.prices.per_million_output_tokens = get_price(v, where, name);
    } else if (name == "price_per_second") {
      cfg.prices.per_second = get_price(v, where, name);
    } else if (name == "max_response_bytes") {
      cfg.max_response_bytes = get_positive_int<std::size_t>(v, where, name);
      // One bound end to end (messages.hpp): the writer stores every event
      // built from a body up to kMaxResponseBytes, and nothing larger.
      if (cfg.max_response_bytes > kMaxResponseBytes)
        fail(where, name, "at most " + std::to_string(kMaxResponseBytes) + " (the bound the progress-writer stores)");
    } else {
      fail(where, name, "unknown field");
    }
  }
}

// Checks that need the merged entry (defaults + own fields).
void finish(EndpointConfig& cfg, const std::string& where) {
  if (cfg.region.empty()) fail(where, "region", "missing");
  if (cfg.url.empty()) fail(where, "url", "missing");
  try {
    cfg.parsed_url = parse_url(cfg.url);
  } catch (const BadInput& e) {
    fail(where, "url", e.what());  // parse_url never repeats credentials
  }
  if (cfg.backoff_max_ms < cfg.backoff_initial_ms) {
    fail(where, "backoff_max_ms", "must be >= backoff_initial_ms");
  }
  if (!cfg.ca_file.empty()) {
    if (!cfg.parsed_url.tls()) fail(where, "ca_file", "given for an http:// URL");
    std::ifstream f(cfg.ca_file);
    if (!f) fail(where, "ca_file", "cannot read '" + cfg.ca_file + "'");
  }
  if (!cfg.api_key_env.empty()) {
    const char* value = std::getenv(cfg.api_key_env.c_str());
    // Only the variable's name goes into the message, never its value.
    if (value == nullptr || *value == '\0') {
      fail(where, "api_key_env", "environment variable " + cfg.api_key_env + " is not set");
    }
    cfg.api_key = value;
  }
  if (cfg.auto_in_flight) {
    if (cfg.min_in_flight > cfg.max_in_flight_limit) fail(where, "min_in_flight", "must be <= max_in_flight_limit");
    cfg.max_in_flight = cfg.max_in_flight_limit;
  }
  cfg.limit_key = limit_key_of(cfg.url, cfg.api_key);
}

}  // namespace

EndpointTable EndpointTable::parse(std::string_view text) {
  json::Document doc = json::parse(text);  // "invalid JSON at offset N: ..."
  if (!doc.IsObject()) throw BadInput("must be a JSON object");

  EndpointConfig defaults;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    std::string_view name(it->name.GetString(), it->name.GetStringLength());
    if (name != "defaults" && name != "endpoints") fail(std::string(name), "", "unknown top-level field");
  }
  if (auto it = doc.FindMember("defaults"); it != doc.MemberEnd()) apply(it->value, defaults, "defaults", true);

  auto list = doc.FindMember("endpoints");
  if (list == doc.MemberEnd() || !list->value.IsArray()) fail("endpoints", "", "missing or not an array");
  if (list->value.Empty()) fail("endpoints", "", "is empty");

  EndpointTable table;
  std::set<std::pair<std::string, std::string>> seen;
  for (rapidjson::SizeType i = 0; i < list->value.Size(); ++i) {
    const std::string where = "endpoints[" + std::to_string(i) + "]";
    EndpointConfig cfg = defaults;
    apply(list->value[i], cfg, where, false);
    finish(cfg, where);
    cfg.index = i;
    if (!seen.emplace(cfg.region, cfg.model).second) {
      fail(where, "", "duplicate entry for region '" + cfg.region + "' and model '" + cfg.model + "'");
    }
    table.entries_.push_back(std::move(cfg));
  }
  return table;
}

EndpointTable EndpointTable::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BadInput("endpoint file " + path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return parse(text.str());
  } catch (const BadInput& e) {
    throw BadInput("endpoint file " + path + ": " + e.what());
  }
}

const EndpointConfig* EndpointTable::find(std::string_view region, std::string_view model) const {
  const EndpointConfig* any = nullptr;
  for (const auto& e : entries_) {
    if (e.region != region) continue;
    if (e.model == model) return &e;
    if (e.model == "*") any = &e;
  }
  return any;
}

bool EndpointTable::has_region(std::string_view region) const {
  for (const auto& e : entries_) {
    if (e.region == region) return true;
  }
  return false;
}

std::size_t EndpointTable::take_prices_from(const EndpointTable& fresh) {
  std::size_t changed = 0;
  for (auto& mine : entries_) {
    for (const auto& theirs : fresh.entries_) {
      if (theirs.region != mine.region || theirs.model != mine.model || theirs.url != mine.url) continue;
      if (!(theirs.prices == mine.prices)) {
        mine.prices = theirs.prices;
        ++changed;
      }
      break;
    }
  }
  return changed;
}

}  // namespace beacon::infer
