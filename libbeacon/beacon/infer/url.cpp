#include <beacon/infer/url.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include <beacon/core/errors.hpp>

namespace beacon::infer {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::uint16_t default_port(const std::string& scheme) { return scheme == "https" ? 443 : 80; }

// RFC 3986 §5.2.4, so a relative redirect like "../result" lands where a browser would.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view seg = path.substr(pos, next - pos);
    if (seg == "..") {
      if (out.size() > 1) out.pop_back();
    } else if (seg != ".") {
      out.push_back(seg);
    }
    pos = next + 1;
  }
  std::string result;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i > 0) result += '/';
    result += out[i];
  }
  // A trailing "." or ".." names a directory: keep the slash.
  if (path.ends_with("/.") || path.ends_with("/..")) result += '/';
  if (result.empty() || result[0] != '/') result.insert(result.begin(), '/');
  return result;
}

void split_path_query(std::string_view rest, Url& url) {
  rest = rest.substr(0, rest.find('#'));  // a fragment never goes on the wire
  std::size_t q = rest.find('?');
  std::string_view path = rest.substr(0, q);
  url.path = path.empty() ? "/" : std::string(path);
  url.query = q == std::string_view::npos ? "" : std::string(rest.substr(q + 1));
}

}  // namespace

std::string Url::target() const { return query.empty() ? path : path + "?" + query; }

std::string Url::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != default_port(scheme)) h += ":" + std::to_string(port);
  return h;
}

std::string Url::to_string() const {
  std::string s = scheme + "://";
  if (!userinfo.empty()) s += userinfo + "@";
  return s + host_header() + target();
}

std::string Url::redacted() const { return scheme + "://" + host_header() + path; }

Url parse_url(std::string_view text) {
  Url url;
  std::size_t colon = text.find("://");
  if (colon == std::string_view::npos) throw BadInput("URL must start with http:// or https://");
  url.scheme = lower(text.substr(0, colon));
  if (url.scheme != "http" && url.scheme != "https") {
    // Named only when it is a plausible scheme: "user:pw://..." is not one.
    const bool plain = url.scheme.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789+.-") == std::string::npos;
    throw BadInput(plain ? "URL scheme '" + url.scheme + "' is not http or https" : "URL must start with http:// or https://");
  }
  std::string_view rest = text.substr(colon + 3);
  std::size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);

  if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    url.userinfo = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  } else if (rest.find('@') != std::string_view::npos) {
    // "https://user:pa/ss@host/v1" reads as host "user", port "pa", path
    // "/ss@host/v1": the password would land in logs and receipts. An '@'
    // after the host is refused (encode it as %40 in a path), and no message
    // below repeats the authority, which may be such a misread password.
    throw BadInput("URL has '@' after the host: percent-encode '/', '?', '#' and '@' in the user name or "
                   "password (%2F %3F %23 %40)");
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) throw BadInput("URL has an unterminated [IPv6] host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw BadInput("URL has junk after the [IPv6] host");
      port = after.substr(1);
    }
  } else if (std::size_t c = authority.rfind(':'); c != std::string_view::npos) {
    host = authority.substr(0, c);
    port = authority.substr(c + 1);
  }
  if (host.empty()) throw BadInput("URL has no host");
  for (char ch : host) {
    if (std::isspace(static_cast<unsigned char>(ch))) throw BadInput("URL host contains whitespace");
  }
  url.host = lower(host);
  url.port = default_port(url.scheme);
  if (!port.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || p != port.data() + port.size() || value == 0 || value > 65535) {
      throw BadInput("URL port is not a number in 1..65535");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  split_path_query(rest, url);
  for (char ch : url.target()) {
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f) {
      throw BadInput("URL path contains whitespace or control characters (percent-encode them)");
    }
  }
  return url;
}

Url resolve_reference(const Url& base, std::string_view location) {
  std::size_t scheme_end = location.find("://");
  std::size_t first_special = location.find_first_of("/?#");
  if (scheme_end != std::string_view::npos && scheme_end < first_special) return parse_url(location);
  if (location.starts_with("//")) return parse_url(base.scheme + ":" + std::string(location));

  Url url = base;
  url.userinfo.clear();  // credentials of the base are never carried to another path implicitly
  if (location.empty()) return url;
  if (location.front() == '?') {
    split_path_query(std::string(base.path) + std::string(location), url);
    return url;
  }
  if (location.front() == '#') return url;
  Url tmp;
  split_path_query(location, tmp);
  std::string path = std::string(location.substr(0, location.find_first_of("?#")));
  if (path.front() != '/') {
    // Relative path: replaces the last segment of the base path.
    path = base.path.substr(0, base.path.rfind('/') + 1) + path;
  }
  url.path = remove_dot_segments(path);
  url.query = tmp.query;
  for (char ch : url.target()) {
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f) {
      throw BadInput("redirect Location contains whitespace or control characters");
    }
  }
  return url;
}

}  // namespace beacon::infer
