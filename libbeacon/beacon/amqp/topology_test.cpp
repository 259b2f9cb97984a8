#include <beacon/amqp/topology.hpp>

#include <gtest/gtest.h>

#include "scoped_env.hpp"

#include <cstdlib>
#include <stdexcept>

namespace beacon::amqp {
namespace {

using test::ScopedEnv;

TEST(Topology, Names) {
  EXPECT_EQ(exec_queue("eu-west"), "beacon.exec.eu-west");
  EXPECT_EQ(kExecExchange, "beacon.exec");
  EXPECT_EQ(kResultsExchange, "beacon.results");
  EXPECT_EQ(kResultsQueue, "beacon.results");
  EXPECT_EQ(kResultsRoutingKey, "result");
  EXPECT_EQ(kDeadExchange, "beacon.dead");
  EXPECT_EQ(kDeadQueue, "beacon.dead");
  EXPECT_EQ(kControlExchange, "beacon.control");
  EXPECT_EQ(kReasonHeader, "x-beacon-reason");
  EXPECT_EQ(kSourceQueueHeader, "x-beacon-source-queue");
}

TEST(TopologyOptionsFromEnv, DefaultsToQuorumWithLimitFive) {
  ScopedEnv type("BEACON_QUEUE_TYPE", std::nullopt);
  ScopedEnv limit("BEACON_DELIVERY_LIMIT", std::nullopt);
  const TopologyOptions o = topology_options_from_env();
  EXPECT_EQ(o.queue_type, "quorum");
  EXPECT_EQ(o.delivery_limit, 5);
}

TEST(TopologyOptionsFromEnv, ReadsBothVariables) {
  ScopedEnv type("BEACON_QUEUE_TYPE", "classic");
  ScopedEnv limit("BEACON_DELIVERY_LIMIT", "12");
  const TopologyOptions o = topology_options_from_env();
  EXPECT_EQ(o.queue_type, "classic");
  EXPECT_EQ(o.delivery_limit, 12);
}

TEST(TopologyOptionsFromEnv, EmptyMeansUnset) {
  ScopedEnv type("BEACON_QUEUE_TYPE", "");
  ScopedEnv limit("BEACON_DELIVERY_LIMIT", "");
  EXPECT_EQ(topology_options_from_env().queue_type, "quorum");
}

TEST(TopologyOptionsFromEnv, RejectsUnknownQueueType) {
  ScopedEnv type("BEACON_QUEUE_TYPE", "stream");
  ScopedEnv limit("BEACON_DELIVERY_LIMIT", std::nullopt);
  try {
    topology_options_from_env();
    FAIL() << "accepted stream";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("BEACON_QUEUE_TYPE"), std::string::npos);
  }
}

TEST(TopologyOptionsFromEnv, RejectsBadDeliveryLimit) {
  ScopedEnv type("BEACON_QUEUE_TYPE", std::nullopt);
  for (const char* bad : {"-1", "five", "5x", "99999999999"}) {
    ScopedEnv limit("BEACON_DELIVERY_LIMIT", bad);
    EXPECT_THROW(topology_options_from_env(), std::invalid_argument) << bad;
  }
}

}  // namespace
TEST(TopologyOptionsFromEnv, QuorumGroupSizeUnsetMeansBrokerDefault) {
  ScopedEnv size("BEACON_QUORUM_GROUP_SIZE", std::nullopt);
  EXPECT_EQ(topology_options_from_env().quorum_group_size, 0);
  ScopedEnv empty("BEACON_QUORUM_GROUP_SIZE", "");
  EXPECT_EQ(topology_options_from_env().quorum_group_size, 0);
}

TEST(TopologyOptionsFromEnv, ReadsQuorumGroupSize) {
  ScopedEnv size("BEACON_QUORUM_GROUP_SIZE", "3");
  EXPECT_EQ(topology_options_from_env().quorum_group_size, 3);
}

TEST(TopologyOptionsFromEnv, RejectsABadQuorumGroupSizeNamingTheVariable) {
  for (const char* bad : {"0", "-1", "three", "3 ", "100"}) {
    ScopedEnv size("BEACON_QUORUM_GROUP_SIZE", bad);
    try {
      topology_options_from_env();
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("BEACON_QUORUM_GROUP_SIZE"), std::string::npos) << e.what();
    }
  }
}

}  // namespace beacon::amqp
