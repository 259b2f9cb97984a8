#include <beacon/db/connect.hpp>

#include <libpq-fe.h>

#include <cstdlib>
#include <map>
#include <vector>

#include <pqxx/except>

#include <beacon/core/errors.hpp>
#include <beacon/db/url_redaction.hpp>

namespace beacon::db {
namespace {

// The options libpq finds in `url`, keyword -> value (set ones only).
std::map<std::string, std::string> parse_conninfo(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string reason = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
    // libpq quotes the token it stumbled on, which may be the password.
    throw BadInput("invalid database URL: " + redact_conninfo_text(reason, url));
  }
  std::map<std::string, std::string> set;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o)
    if (o->val != nullptr) set[o->keyword] = o->val;
  PQconninfoFree(options);
  return set;
}

bool is_uri(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

std::string percent_encode(const std::string& v) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// A value in a "key=value" conninfo string: single-quoted, \ and ' escaped.
std::string quote_conninfo(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

// "a,b,,c" -> {"a", "b", "", "c"}: libpq's comma-separated host and port lists.
std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  for (std::size_t start = 0;;) {
    const std::size_t comma = list.find(',', start);
    out.push_back(list.substr(start, comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

}  // namespace

std::string with_connect_defaults(const std::string& url, const ConnectOptions& options) {
  const auto set = parse_conninfo(url);
  std::map<std::string, std::string> add;
  if (!set.contains("connect_timeout")) add["connect_timeout"] = std::to_string(options.connect_timeout_s);
  if (!set.contains("application_name") && !options.application_name.empty())
    add["application_name"] = options.application_name;
  auto add_int = [&](const char* key, int value) {
    if (!set.contains(key)) add[key] = std::to_string(value);
  };
  add_int("keepalives", 1);
  add_int("keepalives_idle", options.keepalive_idle_s);
  add_int("keepalives_interval", options.keepalive_interval_s);
  add_int("keepalives_count", options.keepalive_count);
  add_int("tcp_user_timeout", options.tcp_user_timeout_ms);
  // Several hosts are a primary and its standbys. libpq's default
  // (target_session_attrs=any) keeps the first host that answers, which after
  // a failover may be a standby: every write would then fail, and the writer
  // would retry there for ever. Only a URL (or PGTARGETSESSIONATTRS) that
  // says otherwise may land on a read-only host.
  if (const auto host = set.find("host"); host != set.end() && host->second.find(',') != std::string::npos &&
                                          !set.contains("target_session_attrs") &&
                                          std::getenv("PGTARGETSESSIONATTRS") == nullptr)
    add["target_session_attrs"] = "read-write";
  // Server-side deadlines travel as startup options (-c name=value).
  std::string server_options;
  if (options.statement_timeout_ms > 0)
    server_options += "-c statement_timeout=" + std::to_string(options.statement_timeout_ms);
  if (options.lock_timeout_ms > 0)
    server_options += std::string(server_options.empty() ? "" : " ") + "-c lock_timeout=" +
                      std::to_string(options.lock_timeout_ms);
  if (!server_options.empty() && !set.contains("options")) add["options"] = server_options;

  std::string out = url;
  if (is_uri(url)) {
    char sep = url.find('?') == std::string::npos ? '?' : '&';
    for (const auto& [k, v] : add) {
      out += sep + k + "=" + percent_encode(v);
      sep = '&';
    }
  } else {
    for (const auto& [k, v] : add) out += (out.empty() ? "" : " ") + k + "=" + quote_conninfo(v);
  }
  return out;
}

std::string describe_target(const std::string& url) {
  std::map<std::string, std::string> set;
  try {
    set = parse_conninfo(url);
  } catch (const BadInput&) {
    return "(unparsable database URL)";
  }
  auto get = [&](const char* k, const char* fallback) {
    auto it = set.find(k);
    // A malformed URL puts pieces of the password into host, port or dbname.
    return it == set.end() || it->second.empty() ? std::string(fallback) : redact_conninfo_field(it->second, url);
  };
  // A multi-host URL (h1:p1,h2:p2) reaches libpq as host "h1,h2" and port
  // "p1,p2" (or one port for every host): show each host with its own port.
  const auto hosts = split_list(get("host", "(default host)"));
  const auto ports = split_list(get("port", "5432"));
  std::string targets;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    std::string port = ports.size() == hosts.size() ? ports[i] : ports.front();
    if (port.empty()) port = "5432";
    targets += (i ? "," : "") + (hosts[i].empty() ? std::string("(default host)") : hosts[i]) + ":" + port;
  }
  return get("user", "(default user)") + "@" + targets + "/" + get("dbname", "(default database)");
}

std::unique_ptr<pqxx::connection> connect(const std::string& url, const ConnectOptions& options) {
  const std::string conninfo = with_connect_defaults(url, options);
  try {
    return std::make_unique<pqxx::connection>(conninfo);
  } catch (const pqxx::broken_connection& e) {
    // libpq names host and port, which a malformed URL fills with pieces of the password.
    std::string reason = redact_conninfo_text(e.what(), url);
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
    throw DatabaseUnavailable("cannot connect to Postgres at " + describe_target(url) + ": " + reason);
  }
}

}  // namespace beacon::db
