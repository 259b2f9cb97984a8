#pragma once
// Everything a program reads from the environment about the broker, checked
// at once before it touches anything (issue 8 item 9): BEACON_AMQP_URL,
// BEACON_AMQP_HEARTBEAT_S, BEACON_QUEUE_TYPE, BEACON_DELIVERY_LIMIT. A bad
// value is BadInput naming the variable (exit 2), never an exception thrown
// later from inside a connect, after a job was registered or cancelled.
#include <string>
#include <vector>

#include <beacon/amqp/topology.hpp>
#include <beacon/amqp/url.hpp>

namespace beacon::amqp {

struct BrokerConfig {
  std::vector<AmqpUrl> nodes;  // BEACON_AMQP_URL, every node validated
  std::string url;             // the text amqp::ClientOptions::url takes (BEACON_AMQP_URL or the default)
  int heartbeat_s = 30;
  TopologyOptions topology;
};

// Throws BadInput "BEACON_X: ..." for the first bad variable; the message
// never repeats a password. `heartbeat_fallback` is used when
// BEACON_AMQP_HEARTBEAT_S is unset.
BrokerConfig broker_config_from_env(int heartbeat_fallback = 30);

}  // namespace beacon::amqp
