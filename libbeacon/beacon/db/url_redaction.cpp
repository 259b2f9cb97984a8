#include <beacon/db/url_redaction.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <vector>

#include <beacon/core/errors.hpp>

namespace beacon::db {
namespace {

constexpr std::string_view kMask = "***";
constexpr std::size_t kMinPiece = 3;  // shorter pieces would mask ordinary words
constexpr std::string_view kPunctuation = "/@:?#&='\" \t\\";

struct Range {
  std::size_t begin, end;  // [begin, end) in the url
};

bool is_uri(std::string_view url) { return url.find("://") != std::string_view::npos; }

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// key=value form: quotes dropped, backslash escapes resolved.
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\'') continue;
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

// Where the next " key=" of a key=value string starts after `from`, or npos.
std::size_t next_keyword(std::string_view url, std::size_t from) {
  for (std::size_t i = from; i < url.size(); ++i) {
    if (!std::isspace(static_cast<unsigned char>(url[i]))) continue;
    std::size_t k = i;
    while (k < url.size() && std::isspace(static_cast<unsigned char>(url[k]))) ++k;
    std::size_t word = k;
    while (k < url.size() && (std::isalnum(static_cast<unsigned char>(url[k])) || url[k] == '_')) ++k;
    if (k == word) continue;
    while (k < url.size() && std::isspace(static_cast<unsigned char>(url[k]))) ++k;
    if (k < url.size() && url[k] == '=') return i;
  }
  return std::string_view::npos;
}

std::vector<Range> password_ranges(std::string_view url) {
  std::vector<Range> ranges;
  if (std::size_t scheme = url.find("://"); scheme != std::string_view::npos) {
    const std::size_t start = scheme + 3;
    const std::size_t at = url.rfind('@');
    if (at != std::string_view::npos && at > start) {
      const std::size_t colon = url.find(':', start);
      if (colon != std::string_view::npos && colon < at) ranges.push_back({colon + 1, at});
    }
  }
  std::string lower(url);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (std::size_t pos = 0; (pos = lower.find("password", pos)) != std::string::npos; pos += 8) {
    std::size_t i = pos + 8;
    while (i < url.size() && url[i] == ' ') ++i;
    if (i >= url.size() || url[i] != '=') continue;
    ++i;
    while (i < url.size() && url[i] == ' ') ++i;
    std::size_t end;
    if (i < url.size() && url[i] == '\'') {
      end = i + 1;
      while (end < url.size() && url[end] != '\'') end += url[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, url.size());
      // A quote inside the quoted value ends it early; the rest is password too.
      if (end < url.size() && !std::isspace(static_cast<unsigned char>(url[end])))
        end = std::min(next_keyword(url, end), url.size());
    } else if (is_uri(url)) {
      end = std::min(url.find('&', i), url.size());
    } else {
      end = std::min(next_keyword(url, i), url.size());
    }
    if (end > i) ranges.push_back({i, end});
  }
  return ranges;
}

struct Secrets {
  std::vector<Range> ranges;
  std::vector<std::string> whole;   // each password as written, decoded, unescaped
  std::vector<std::string> pieces;  // and its pieces between punctuation, >= kMinPiece
};

Secrets find_secrets(std::string_view url) {
  Secrets s;
  s.ranges = password_ranges(url);
  for (const Range& r : s.ranges) {
    const std::string_view raw = url.substr(r.begin, r.end - r.begin);
    for (const std::string& variant : {std::string(raw), percent_decode(raw), unescape(raw)}) {
      if (variant.empty()) continue;
      s.whole.push_back(variant);
      for (std::size_t i = 0; i < variant.size();) {
        const std::size_t j = std::min(variant.find_first_of(kPunctuation, i), variant.size());
        if (j - i >= kMinPiece) s.pieces.push_back(variant.substr(i, j - i));
        i = j + 1;
      }
    }
  }
  // Longest first, so a whole password is masked before its pieces.
  auto by_length = [](const std::string& a, const std::string& b) { return a.size() > b.size(); };
  std::sort(s.whole.begin(), s.whole.end(), by_length);
  std::sort(s.pieces.begin(), s.pieces.end(), by_length);
  return s;
}

bool touches_secret(std::string_view token, std::string_view url, const Secrets& s) {
  if (token.empty()) return false;
  for (std::size_t at = url.find(token); at != std::string_view::npos; at = url.find(token, at + 1)) {
    for (const Range& r : s.ranges)
      if (at < r.end && at + token.size() > r.begin) return true;
  }
  for (const std::string& w : s.whole)
    if (w.find(token) != std::string::npos) return true;
  for (const std::string& p : s.pieces)
    if (token.find(p) != std::string_view::npos) return true;
  return false;
}

void replace_all(std::string& text, std::string_view what) {
  if (what.size() < kMinPiece) return;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + kMask.size()))
    text.replace(at, what.size(), kMask);
}

}  // namespace

std::string redact_conninfo_text(std::string_view text, std::string_view url) {
  const Secrets secrets = find_secrets(url);
  if (secrets.ranges.empty()) return std::string(text);
  std::string out;
  // Double-quoted tokens, as libpq writes the values it complains about.
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t open = text.find('"', i);
    const std::size_t close = open == std::string_view::npos ? open : text.find('"', open + 1);
    if (close == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    const std::string_view token = text.substr(open + 1, close - open - 1);
    out.append(text.substr(i, open + 1 - i));
    out.append(touches_secret(token, url, secrets) ? kMask : token);
    out += '"';
    i = close + 1;
  }
  for (const std::string& w : secrets.whole) replace_all(out, w);
  for (const std::string& p : secrets.pieces) replace_all(out, p);
  return out;
}

std::string redact_conninfo_field(std::string_view value, std::string_view url) {
  return touches_secret(value, url, find_secrets(url)) ? std::string(kMask) : std::string(value);
}

void validate_database_url(std::string_view url_view, std::string_view variable) {
  const std::string url(url_view);
  const std::string name(variable);
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string reason = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
    throw BadInput(name + ": invalid database URL: " + redact_conninfo_text(reason, url));
  }
  std::map<std::string, std::string> set;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o)
    if (o->val != nullptr) set[o->keyword] = o->val;
  PQconninfoFree(options);

  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    const std::string_view rest = url_view.substr(url.find("://") + 3);
    const std::string_view authority = rest.substr(0, rest.find('/'));
    const std::string_view path = rest.size() > authority.size()
                                      ? rest.substr(authority.size(), rest.find('?', authority.size()) - authority.size())
                                      : std::string_view{};
    if (std::count(authority.begin(), authority.end(), '@') > 1 || path.find('@') != std::string_view::npos) {
      throw BadInput(name +
                     ": invalid database URL: '@' may appear once, before the host; percent-encode '/' and '@' in "
                     "the user name or password (%2F, %40)");
    }
  }
  if (auto it = set.find("port"); it != set.end() && !it->second.empty()) {
    // Multi-host URLs list one port per host, separated by commas.
    std::string_view ports = it->second;
    for (std::size_t start = 0; start <= ports.size();) {
      const std::size_t comma = std::min(ports.find(',', start), ports.size());
      const std::string_view port = ports.substr(start, comma - start);
      unsigned value = 0;
      const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
      if (!port.empty() && (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)) {
        throw BadInput(name + ": invalid database URL: the port must be a number 1-65535 (" +
                       redact_conninfo_text("\"" + std::string(port) + "\"", url) + ")");
      }
      start = comma + 1;
    }
  }
}

}  // namespace beacon::db
