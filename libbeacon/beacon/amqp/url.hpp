#pragma once
// The broker address as beacon takes it: amqp://user:pass@host:port/vhost.
// The password is kept for login only; anything that logs uses redacted().
#include <string>
#include <string_view>

namespace beacon::amqp {

struct AmqpUrl {
  std::string host;
  int port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";

  // amqp://user:***@host:port/vhost (vhost percent-encoded, omitted when "/").
  std::string redacted() const;
};

// Parses with rabbitmq-c's own amqp_parse_url so beacon accepts exactly what
// the library connects to. Missing parts take the library defaults
// (guest/guest, port 5672); a missing or empty vhost means "/", and "%2f"
// decodes to "/". amqps:// is refused (beacon has no TLS to the broker yet).
// Throws std::invalid_argument with a message that never echoes the password.
AmqpUrl parse_url(std::string_view url);

}  // namespace beacon::amqp
