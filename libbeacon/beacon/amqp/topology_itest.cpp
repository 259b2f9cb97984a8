// beacon's topology against a real RabbitMQ ($BEACON_AMQP_URL). The core
// names are shared by every part and are left in place; the region queues
// here use unique region names and are deleted.
#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include "test_broker.hpp"
#include <beacon/amqp/topology.hpp>

#include <gtest/gtest.h>

namespace beacon::amqp {
namespace {

using namespace std::chrono_literals;
using testing::BrokerTest;

class TopologyTest : public BrokerTest {
 protected:
  // A unique region whose exec queue TearDown deletes.
  std::string make_region(std::string_view prefix) {
    const std::string region = "test-" + std::string(prefix) + "-" + unique_name("r").substr(14);
    own_queue(exec_queue(region));
    return region;
  }
};

TEST_F(TopologyTest, DeclaringCoreAndRegionsTwiceIsIdempotent) {
  // The core must match however the shared broker was first set up.
  const TopologyOptions core = topology_options_from_env();
  TopologyOptions quorum;
  quorum.queue_type = "quorum";
  TopologyOptions classic;
  classic.queue_type = "classic";
  const std::string quorum_region = make_region("quorum");
  const std::string classic_region = make_region("classic");

  for (int round = 0; round < 2; ++round) {
    auto client = connect("round " + std::to_string(round));
    ASSERT_NO_THROW(declare_core(*client, core)) << "round " << round;
    ASSERT_NO_THROW(declare_region(*client, quorum_region, quorum)) << "round " << round;
    ASSERT_NO_THROW(declare_region(*client, classic_region, classic)) << "round " << round;
    client->close();
  }

  auto client = connect();
  for (auto name : {kResultsQueue, kDeadQueue}) {
    EXPECT_NO_THROW(client->queue_message_count(std::string(name))) << name;
  }
  // beacon.exec routes by region to exactly that region's queue.
  for (const auto& region : {quorum_region, classic_region}) {
    client->publish(std::string(kExecExchange), region, R"({"v":1})");
  }
  const auto confirms = client->wait_for_confirms(std::chrono::steady_clock::now() + 10s);
  ASSERT_EQ(confirms.size(), 2u);
  for (const auto& c : confirms) EXPECT_TRUE(c.ok) << c.reason;
  EXPECT_EQ(client->queue_message_count(exec_queue(quorum_region)), 1u);
  EXPECT_EQ(client->queue_message_count(exec_queue(classic_region)), 1u);
}

TEST_F(TopologyTest, RegionQueueDeadLettersToBeaconDead) {
  // Evidence that the x-dead-letter-exchange argument is in place: a message
  // rejected without requeue leaves the region queue. (Not consumed from
  // beacon.dead, which other parts and tests share.)
  TopologyOptions options;
  options.queue_type = "classic";
  const std::string region = make_region("dlx");
  auto client = connect();
  declare_core(*client, topology_options_from_env());
  declare_region(*client, region, options);
  // A private queue on beacon.dead sees the dead letter without touching others.
  const std::string watcher = client->declare_temp_queue_bound_to(std::string(kDeadExchange));
  client->publish(std::string(kExecExchange), region, "not json");
  ASSERT_EQ(client->wait_for_confirms(std::chrono::steady_clock::now() + 10s).size(), 1u);

  client->consume(exec_queue(region));
  const auto got = testing::receive(*client, 1, 10s);
  ASSERT_EQ(got.size(), 1u);
  client->reject(got[0].tag, /*requeue=*/false);

  client->consume(watcher);
  const auto dead = testing::receive(*client, 1, 10s);
  ASSERT_EQ(dead.size(), 1u) << "rejected message did not reach beacon.dead";
  EXPECT_EQ(dead[0].body, "not json");
  // Dead-lettering republishes through beacon.dead and keeps the routing key.
  EXPECT_EQ(dead[0].exchange, kDeadExchange);
  EXPECT_EQ(dead[0].routing_key, region);
  client->ack(dead[0].tag);
}

TEST_F(TopologyTest, MismatchedQueueTypeIsA406NamingTheQueueAndTheClientStaysUsable) {
  TopologyOptions quorum;
  quorum.queue_type = "quorum";
  TopologyOptions classic;
  classic.queue_type = "classic";
  const std::string region = make_region("mismatch");
  auto client = connect();
  declare_region(*client, region, quorum);
  try {
    declare_region(*client, region, classic);
    FAIL() << "re-declaring a quorum queue as classic succeeded";
  } catch (const ChannelClosed& e) {
    EXPECT_EQ(e.reply_code(), kReplyPreconditionFailed);
    EXPECT_NE(std::string(e.what()).find(exec_queue(region)), std::string::npos) << e.what();
  }
  EXPECT_TRUE(client->connected());
  EXPECT_NO_THROW(declare_region(*client, region, quorum));
}

// BEACON_QUORUM_GROUP_SIZE reaches the broker as x-quorum-initial-group-size:
// RabbitMQ records it with the queue and refuses a declare without it (406),
// and beacon's message names the variable to make consistent.
TEST_F(TopologyTest, QuorumGroupSizeIsSentAndAMismatchNamesTheVariable) {
  TopologyOptions sized;
  sized.queue_type = "quorum";
  sized.quorum_group_size = 1;  // a single-node broker holds one replica at most
  TopologyOptions unsized;
  unsized.queue_type = "quorum";
  const std::string region = make_region("group");
  auto client = connect();
  declare_region(*client, region, sized);
  EXPECT_NO_THROW(declare_region(*client, region, sized)) << "the same size again is idempotent";
  try {
    declare_region(*client, region, unsized);
    FAIL() << "the broker accepted a declare without x-quorum-initial-group-size: it was never sent";
  } catch (const ChannelClosed& e) {
    EXPECT_EQ(e.reply_code(), kReplyPreconditionFailed);
    EXPECT_NE(std::string(e.what()).find("x-quorum-initial-group-size"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("BEACON_QUORUM_GROUP_SIZE"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(client->connected());
}

}  // namespace
}  // namespace beacon::amqp
