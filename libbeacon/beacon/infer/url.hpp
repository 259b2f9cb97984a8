#pragma once
// http(s) URLs as the endpoint file and redirects give them: split into the
// parts a socket and a request line need. Only what beacon uses is supported:
// http and https, optional user:password@, host names, IPv4 and [IPv6].
#include <cstdint>
#include <string>
#include <string_view>

namespace beacon::infer {

struct Url {
  std::string scheme;    // "http" or "https", lower case
  std::string userinfo;  // "user:password" as written (percent-encoded), usually empty; a secret
  std::string host;      // lower case; IPv6 without brackets
  std::uint16_t port = 0;
  std::string path = "/";  // never empty, starts with '/'
  std::string query;       // without '?', may be empty

  bool tls() const { return scheme == "https"; }
  // "/path?query": the request target of the request line.
  std::string target() const;
  // "host" or "host:port" when the port is not the scheme's default ([v6] bracketed).
  std::string host_header() const;
  // Full URL including credentials: only for making requests, never for logs.
  std::string to_string() const;
  // scheme://host[:port]/path — no credentials, no query (which may carry tokens):
  // the form that goes to receipts, logs and metrics labels.
  std::string redacted() const;
};

// Throws BadInput naming what is wrong; the message never repeats the userinfo.
Url parse_url(std::string_view text);

// Resolves a Location header value against the URL it came from (RFC 3986 §5.2,
// the subset servers send: absolute URL, //authority, /absolute-path, relative-path).
// Throws BadInput for a Location that is not an http(s) URL.
Url resolve_reference(const Url& base, std::string_view location);

}  // namespace beacon::infer
