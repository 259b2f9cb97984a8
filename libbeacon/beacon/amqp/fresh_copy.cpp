#include <beacon/amqp/fresh_copy.hpp>

#include <algorithm>
#include <charconv>

namespace beacon::amqp {
namespace {

long header_count(const Delivery& d, std::string_view name) {
  auto it = d.headers.find(std::string(name));
  if (it == d.headers.end()) return 0;
  long v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return ec == std::errc() ? v : 0;
}

}  // namespace

FreshCopy fresh_copy(const Delivery& d, const std::string& queue) {
  FreshCopy c;
  c.exchange = "";
  c.routing_key = queue;
  c.props.message_id = d.message_id;
  if (!d.content_type.empty()) c.props.content_type = d.content_type;
  c.props.persistent = true;
  c.props.mandatory = true;
  c.props.headers = d.headers;
  c.props.headers.erase(std::string(kDeliveryCountHeader));
  c.props.headers.erase("x-death");
  c.props.headers[std::string(kRequeuesHeader)] = std::to_string(header_count(d, kRequeuesHeader) + 1);
  return c;
}

bool needs_refresh(const Delivery& d, int delivery_limit) {
  if (delivery_limit <= 0) return false;
  return header_count(d, kDeliveryCountHeader) >= std::max(1, delivery_limit - 2);
}

}  // namespace beacon::amqp
