#include <beacon/amqp/broker_config.hpp>

#include <stdexcept>

#include <beacon/amqp/client.hpp>
#include <beacon/core/errors.hpp>

namespace beacon::amqp {

BrokerConfig broker_config_from_env(int heartbeat_fallback) {
  BrokerConfig config;
  config.url = amqp_url_from_env();
  try {
    config.nodes = parse_url_list(config.url);
  } catch (const std::invalid_argument& e) {
    throw BadInput(std::string("BEACON_AMQP_URL: ") + e.what());
  }
  // These two name their variable themselves.
  try {
    config.heartbeat_s = heartbeat_s_from_env(heartbeat_fallback);
    config.topology = topology_options_from_env();
    config.node_order = node_order_from_env();
    config.tls = tls_files_from_env();
  } catch (const std::invalid_argument& e) {
    throw BadInput(e.what());
  }
  return config;
}

}  // namespace beacon::amqp
