#include <beacon/amqp/url.hpp>

#include <amqp.h>

#include <stdexcept>
#include <vector>

namespace beacon::amqp {
namespace {

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The checks rabbitmq-c does not make, on the text as written. Messages
// name the rule, never the text: any part of it may be a password.
void check_structure(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return;  // amqp_parse_url refuses it
  const std::string_view rest = url.substr(scheme_end + 3);
  const std::string_view authority = rest.substr(0, rest.find('/'));
  const std::size_t at = rest.find('@');
  if (at != std::string_view::npos && (at >= authority.size() || rest.find('@', at + 1) != std::string_view::npos)) {
    throw std::invalid_argument(
        "invalid AMQP URL: '@' may appear once, before the host; percent-encode '/', '?', '#' and '@' "
        "in the user name or password (%2F %3F %23 %40)");
  }
  const std::string_view host_port = at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (host_port.empty() || host_port.front() == ':') throw std::invalid_argument("invalid AMQP URL: no host");
}

std::string node_prefix(std::size_t index, std::size_t count) {
  return count == 1 ? "" : "node " + std::to_string(index + 1) + " of " + std::to_string(count) + ": ";
}

// A failover must log in exactly as the first connect did; the message
// names what differs, never the values.
void check_one_cluster(const std::vector<AmqpUrl>& nodes) {
  const AmqpUrl& first = nodes.front();
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    const AmqpUrl& n = nodes[i];
    const char* differs = n.user != first.user           ? "user name"
                          : n.password != first.password ? "password"
                          : n.vhost != first.vhost       ? "vhost"
                          : n.tls != first.tls           ? "scheme (amqp:// vs amqps://)"
                                                         : nullptr;
    if (differs != nullptr) {
      throw std::invalid_argument(node_prefix(i, nodes.size()) + "its " + differs +
                                  " differs from node 1's; every node of BEACON_AMQP_URL is the same cluster and "
                                  "must use the same user, password, vhost and scheme");
    }
  }
}

}  // namespace

std::string AmqpUrl::redacted() const {
  std::string out = (tls ? "amqps://" : "amqp://") + percent_encode(user);
  if (!password.empty()) out += ":***";
  out += "@" + host + ":" + std::to_string(port);
  if (vhost != "/") out += "/" + percent_encode(vhost);
  return out;
}

AmqpUrl parse_node(std::string_view url) {
  check_structure(url);
  // amqp_parse_url writes into its input and points into it, so it gets a
  // private NUL-terminated copy that outlives the struct it fills.
  std::vector<char> buffer(url.begin(), url.end());
  buffer.push_back('\0');
  amqp_connection_info info{};
  amqp_default_connection_info(&info);
  if (amqp_parse_url(buffer.data(), &info) != AMQP_STATUS_OK) {
    throw std::invalid_argument(
        "invalid AMQP URL (expected amqp://user:pass@host:port/vhost or amqps://..., port 1-65535, "
        "special characters in the password percent-encoded)");
  }
  if (info.host == nullptr || *info.host == '\0') throw std::invalid_argument("invalid AMQP URL: no host");
  if (info.port < 1 || info.port > 65535) throw std::invalid_argument("invalid AMQP URL: port must be 1-65535");
  AmqpUrl out;
  out.host = info.host;
  out.port = info.port;
  out.user = info.user != nullptr ? info.user : "";
  out.password = info.password != nullptr ? info.password : "";
  out.vhost = info.vhost != nullptr ? info.vhost : "";
  out.tls = info.ssl != 0;
  // RabbitMQ has no vhost named "": a trailing slash means the default one.
  if (out.vhost.empty()) out.vhost = "/";
  return out;
}

std::vector<AmqpUrl> parse_url_list(std::string_view urls) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t comma = urls.find(',', start);
    parts.push_back(trim(urls.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::vector<AmqpUrl> nodes;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string where = node_prefix(i, parts.size());
    if (parts[i].empty()) throw std::invalid_argument(where + "empty AMQP URL");
    try {
      nodes.push_back(parse_node(parts[i]));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(where + e.what());
    }
  }
  check_one_cluster(nodes);
  return nodes;
}

AmqpUrl parse_url(std::string_view urls) { return parse_url_list(urls).front(); }

std::string redact(std::string_view urls) {
  try {
    std::string out;
    for (const AmqpUrl& node : parse_url_list(urls)) out += (out.empty() ? "" : ",") + node.redacted();
    return out;
  } catch (const std::invalid_argument&) {
    return "(unparsable AMQP URL)";
  }
}

}  // namespace beacon::amqp
