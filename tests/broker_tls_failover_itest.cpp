// amqps:// and node lists against the private broker (issue 12): TLS to
// RabbitMQ's ssl listener with peer and host-name verification
// (scripts/services.sh makes a throw-away CA and a certificate for
// DNS:localhost), the failures a user meets named by their cause, and a
// client that skips a dead node of its list and rotates on reconnect.
#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>

#include "fleet.hpp"
#include "test_broker.hpp"
#include "test_certs.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace beacon::amqp {
namespace {

using namespace std::chrono_literals;
using beacon::test::require_env;

// The TLS listener's port, from BEACON_AMQPS_URL.
int amqps_port() { return parse_url(require_env("BEACON_AMQPS_URL")).port; }

ClientOptions tls_options(const std::string& url, const std::string& ca_file) {
  ClientOptions o;
  o.url = url;
  o.connection_name = "beacon-tls-itest";
  o.connect_timeout = 10s;
  o.tls.ca_file = ca_file;
  return o;
}

// connect() must fail (not hang, not crash) with ConnectionLost whose text
// names `cause`.
void expect_refused(ClientOptions o, const std::string& cause) {
  Client client(o);
  try {
    client.connect();
    ADD_FAILURE() << "connected to " << o.url << " although it should fail with: " << cause;
  } catch (const ConnectionLost& e) {
    std::cout << "[message] " << e.what() << "\n";
    EXPECT_NE(std::string(e.what()).find(cause), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("guest:guest"), std::string::npos) << "password in " << e.what();
  }
  EXPECT_FALSE(client.connected());
}

TEST(BrokerTls, VerifiedConnectionPublishesAndConsumes) {
  Client client(tls_options(require_env("BEACON_AMQPS_URL"), require_env("BEACON_AMQP_CA_FILE")));
  client.connect();
  ASSERT_TRUE(client.connected());
  EXPECT_EQ(client.redacted_url().rfind("amqps://", 0), 0u) << client.redacted_url();
  QueueArgs args;
  args.durable = false;
  args.exclusive = true;
  args.auto_delete = true;
  const std::string queue = client.declare_queue("", args);
  client.publish("", queue, "over tls");
  const auto confirms = client.wait_for_confirms(std::chrono::steady_clock::now() + 30s);
  ASSERT_EQ(confirms.size(), 1u);
  EXPECT_TRUE(confirms[0].ok) << confirms[0].reason;
  client.consume(queue);
  std::optional<Delivery> d;
  for (auto deadline = std::chrono::steady_clock::now() + 30s; !d && std::chrono::steady_clock::now() < deadline;) {
    client.poll(200ms);
    d = client.take_delivery();
  }
  ASSERT_TRUE(d.has_value()) << "the message published over TLS never came back within 30 s";
  EXPECT_EQ(d->body, "over tls");
  client.ack(d->tag);
  client.close();
}

TEST(BrokerTls, WrongCaFailsNamingTheCertificate) {
  // A CA of our own that never signed the broker's certificate.
  const auto other = infer::testing::make_test_pki({"localhost"}, {"127.0.0.1"});
  const infer::testing::TempFile ca(other.ca_cert_pem);
  expect_refused(tls_options(require_env("BEACON_AMQPS_URL"), ca.path()),
                 "not signed by the CA in BEACON_AMQP_CA_FILE");
}

TEST(BrokerTls, NoCaFileMeansTheSystemStoreWhichDoesNotKnowTheTestCa) {
  expect_refused(tls_options(require_env("BEACON_AMQPS_URL"), ""), "set BEACON_AMQP_CA_FILE");
}

TEST(BrokerTls, HostNameIsVerified) {
  // The certificate names localhost only; 127.0.0.1 is the same listener.
  const std::string url = "amqps://guest:guest@127.0.0.1:" + std::to_string(amqps_port());
  expect_refused(tls_options(url, require_env("BEACON_AMQP_CA_FILE")), "does not name host 127.0.0.1");
}

TEST(BrokerTls, PlainAmqpPortWithAmqpsFailsTheHandshakeClearly) {
  const AmqpUrl plain = parse_url(require_env("BEACON_AMQP_URL"));
  const std::string url = "amqps://guest:guest@localhost:" + std::to_string(plain.port);
  expect_refused(tls_options(url, require_env("BEACON_AMQP_CA_FILE")), "TLS");
}

TEST(BrokerTls, UnreadableCaFileIsRefusedNamingTheVariable) {
  setenv("BEACON_AMQP_CA_FILE", "/nonexistent/ca.pem", 1);
  try {
    tls_files_from_env();
    ADD_FAILURE() << "an unreadable CA file was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("BEACON_AMQP_CA_FILE"), std::string::npos) << e.what();
  }
  unsetenv("BEACON_AMQP_CA_FILE");
}

// ------------------------------------------------------------------ failover

// A node of the same login that refuses connections (nothing listens on port 1).
std::string dead_node() { return "amqp://guest:guest@127.0.0.1:1"; }

TEST(BrokerNodeList, SkipsADeadNodeAndRotatesOnEveryReconnect) {
  ClientOptions o;
  o.url = dead_node() + "," + require_env("BEACON_AMQP_URL");
  o.node_order = NodeOrder::listed;
  Client client(o);
  client.connect();
  ASSERT_TRUE(client.connected());
  EXPECT_EQ(client.node_index(), 1u) << "listed order starts at the dead node 0 and must move on to node 1";
  const auto first = client.generation();
  // A reconnect starts at the node after the one used last: node 0 (dead), then node 1 again.
  client.connect();
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(client.node_index(), 1u);
  EXPECT_EQ(client.generation(), first + 1);
  client.close();
}

TEST(BrokerNodeList, TwoLiveNodesAlternate) {
  // The same broker written twice: a stand-in for two live cluster nodes.
  ClientOptions o;
  o.url = require_env("BEACON_AMQP_URL") + "," + require_env("BEACON_AMQP_URL");
  o.node_order = NodeOrder::listed;
  Client client(o);
  client.connect();
  EXPECT_EQ(client.node_index(), 0u);
  client.connect();
  EXPECT_EQ(client.node_index(), 1u);
  client.connect();
  EXPECT_EQ(client.node_index(), 0u);
}

TEST(BrokerNodeList, RandomStartSpreadsClientsOverTheNodes) {
  ClientOptions o;
  o.url = require_env("BEACON_AMQP_URL") + "," + require_env("BEACON_AMQP_URL") + "," +
          require_env("BEACON_AMQP_URL");
  bool seen[3] = {false, false, false};
  // 60 clients all starting at the same node: probability 3 * (1/3)^60.
  for (int i = 0; i < 60; ++i) seen[Client(o).node_index()] = true;
  EXPECT_TRUE(seen[0] && seen[1] && seen[2]) << "random start never picked some node";
}

TEST(BrokerNodeList, EveryNodeDownListsEachFailure) {
  ClientOptions o;
  o.url = dead_node() + ",amqp://guest:guest@127.0.0.1:2";
  Client client(o);
  try {
    client.connect();
    ADD_FAILURE() << "connected to nothing";
  } catch (const ConnectionLost& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("no node of 2 answered"), std::string::npos) << m;
    EXPECT_NE(m.find("127.0.0.1:1"), std::string::npos) << m;
    EXPECT_NE(m.find("127.0.0.1:2"), std::string::npos) << m;
    EXPECT_EQ(m.find("guest:guest"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace beacon::amqp
