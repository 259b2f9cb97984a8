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

}  // namespace

std::string AmqpUrl::redacted() const {
  std::string out = "amqp://" + percent_encode(user);
  if (!password.empty()) out += ":***";
  out += "@" + host + ":" + std::to_string(port);
  if (vhost != "/") out += "/" + percent_encode(vhost);
  return out;
}

AmqpUrl parse_url(std::string_view url) {
  // amqp_parse_url writes into its input and points into it, so it gets a
  // private NUL-terminated copy that outlives the struct it fills.
  std::vector<char> buffer(url.begin(), url.end());
  buffer.push_back('\0');
  amqp_connection_info info{};
  amqp_default_connection_info(&info);
  if (amqp_parse_url(buffer.data(), &info) != AMQP_STATUS_OK) {
    throw std::invalid_argument(
        "invalid AMQP URL (expected amqp://user:pass@host:port/vhost)");
  }
  if (info.ssl) {
    throw std::invalid_argument("amqps:// URLs are not supported; use amqp://");
  }
  if (info.host == nullptr || *info.host == '\0') {
    throw std::invalid_argument("invalid AMQP URL: no host");
  }
  AmqpUrl out;
  out.host = info.host;
  out.port = info.port;
  out.user = info.user != nullptr ? info.user : "";
  out.password = info.password != nullptr ? info.password : "";
  out.vhost = info.vhost != nullptr ? info.vhost : "";
  // RabbitMQ has no vhost named "": a trailing slash means the default one.
  if (out.vhost.empty()) out.vhost = "/";
  return out;
}

}  // namespace beacon::amqp
