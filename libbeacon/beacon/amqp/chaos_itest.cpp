// The client when the network misbehaves: a TCP gate between it and the
// broker cuts or silences the connection. Each failure must surface as
// ConnectionLost within a bounded time, and connect() must recover.
#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include "tcp_gate.hpp"
#include "test_broker.hpp"

#include <gtest/gtest.h>

namespace beacon::amqp {
namespace {

using namespace std::chrono_literals;
using testing::BrokerTest;
using testing::TcpGate;

class ChaosTest : public BrokerTest {
 protected:
  void SetUp() override {
    BrokerTest::SetUp();
    if (HasFatalFailure()) return;
    const AmqpUrl broker = parse_url(url_);
    gate_ = std::make_unique<TcpGate>(broker.host, broker.port);
    gated_url_ = "amqp://" + broker.user + ":" + broker.password + "@127.0.0.1:" +
                 std::to_string(gate_->port());
  }

  ClientOptions gated(int heartbeat_s) const {
    ClientOptions o = options("gated");
    o.url = gated_url_;
    o.heartbeat_s = heartbeat_s;
    return o;
  }

  // Polls until ConnectionLost or `limit`; returns its message, or "" if
  // the connection survived.
  static std::string poll_until_lost(Client& client, std::chrono::milliseconds limit) {
    try {
      testing::poll_until(client, [] { return false; }, limit);
    } catch (const ConnectionLost& e) {
      return e.what();
    }
    return "";
  }

  std::unique_ptr<TcpGate> gate_;
  std::string gated_url_;
};

TEST_F(ChaosTest, CutConnectionIsConnectionLostAndConnectRecovers) {
  auto client = connect(gated(30));
  const std::string queue = client->declare_queue(own_queue(unique_name("chaos")), {});
  client->consume(queue);
  gate_->cut();
  const std::string error = poll_until_lost(*client, 5s);
  ASSERT_FALSE(error.empty()) << "a cut connection went unnoticed for 5 s";
  EXPECT_FALSE(client->connected());

  client->connect();
  client->consume(queue);
  client->publish("", queue, "after the cut");
  ASSERT_EQ(client->wait_for_confirms(std::chrono::steady_clock::now() + 10s).size(), 1u);
  const auto got = testing::receive(*client, 1, 10s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].generation, 2u);
  client->ack(got[0].tag);
}

TEST_F(ChaosTest, SilencedConnectionIsDetectedByHeartbeats) {
  auto client = connect(gated(2));
  gate_->blackhole();
  const auto start = std::chrono::steady_clock::now();
  const std::string error = poll_until_lost(*client, 10s);
  ASSERT_FALSE(error.empty()) << "a silent connection went unnoticed for 10 s";
  EXPECT_NE(error.find("heartbeat"), std::string::npos) << error;
  // rabbitmq-c gives up after two heartbeat intervals without a byte.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 7s);
}

TEST_F(ChaosTest, ConfirmsThatNeverComeAreUnknownNotConfirmed) {
  auto client = connect(gated(2));
  const std::string queue = client->declare_queue(own_queue(unique_name("chaos")), {});
  gate_->blackhole();
  client->publish("", queue, "into the void");
  EXPECT_THROW(client->wait_for_confirms(std::chrono::steady_clock::now() + 15s), ConnectionLost);
  EXPECT_EQ(client->unconfirmed(), 1u);
  EXPECT_TRUE(client->take_confirms().empty()) << "nothing may be reported as confirmed";
}

}  // namespace
}  // namespace beacon::amqp
