#pragma once
// Everything a program reads from the environment about the broker, checked
// at once before it touches anything (issue 8 item 9): BEACON_AMQP_URL,
// BEACON_AMQP_HEARTBEAT_S, BEACON_AMQP_NODE_ORDER, BEACON_AMQP_CA_FILE /
// CERT_FILE / KEY_FILE, BEACON_QUEUE_TYPE, BEACON_DELIVERY_LIMIT,
// BEACON_QUORUM_GROUP_SIZE. A bad
// value is BadInput naming the variable (exit 2), never an exception thrown
// later from inside a connect, after a job was registered or cancelled.
#include <string>
#include <vector>

#include <beacon/amqp/client.hpp>
#include <beacon/amqp/topology.hpp>
#include <beacon/amqp/url.hpp>

namespace beacon::amqp {

struct BrokerConfig {
  std::vector<AmqpUrl> nodes;  // BEACON_AMQP_URL, every node validated
  std::string url;             // the text amqp::ClientOptions::url takes (BEACON_AMQP_URL or the default)
  int heartbeat_s = 30;
  NodeOrder node_order = NodeOrder::random_start;  // BEACON_AMQP_NODE_ORDER
  TlsFiles tls{};                                  // BEACON_AMQP_CA_FILE, _CERT_FILE, _KEY_FILE
  TopologyOptions topology;
};

// Throws BadInput "BEACON_X: ..." for the first bad variable; the message
// never repeats a password. `heartbeat_fallback` is used when
// BEACON_AMQP_HEARTBEAT_S is unset.
BrokerConfig broker_config_from_env(int heartbeat_fallback = 30);

}  // namespace beacon::amqp
