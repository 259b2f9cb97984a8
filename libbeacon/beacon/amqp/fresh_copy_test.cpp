#include <beacon/amqp/fresh_copy.hpp>

#include <gtest/gtest.h>

namespace beacon::amqp {
namespace {

Delivery delivery(Headers h) {
  Delivery d;
  d.body = "{\"v\":1}";
  d.message_id = "m-1";
  d.content_type = "application/json";
  d.headers = std::move(h);
  return d;
}

TEST(FreshCopy, GoesToTheTailOfTheSourceQueueWithoutTheBrokersCounts) {
  auto c = fresh_copy(delivery({{"x-delivery-count", "3"}, {"x-death", "x"}, {"x-beacon-reason", "r"}}), "beacon.results");
  EXPECT_EQ(c.exchange, "");
  EXPECT_EQ(c.routing_key, "beacon.results");
  EXPECT_EQ(c.props.message_id, "m-1");
  EXPECT_EQ(c.props.content_type, "application/json");
  EXPECT_TRUE(c.props.persistent);
  EXPECT_TRUE(c.props.mandatory);
  EXPECT_EQ(c.props.headers.count("x-delivery-count"), 0u);
  EXPECT_EQ(c.props.headers.count("x-death"), 0u);
  EXPECT_EQ(c.props.headers.at("x-beacon-reason"), "r");
  EXPECT_EQ(c.props.headers.at("x-beacon-requeues"), "1");
}

TEST(FreshCopy, CountsItsOwnRequeues) {
  auto c = fresh_copy(delivery({{"x-beacon-requeues", "4"}}), "q");
  EXPECT_EQ(c.props.headers.at("x-beacon-requeues"), "5");
}

TEST(FreshCopy, RefreshFromLimitMinusTwoAtLeastOne) {
  EXPECT_FALSE(needs_refresh(delivery({}), 5));
  EXPECT_FALSE(needs_refresh(delivery({{"x-delivery-count", "2"}}), 5));
  EXPECT_TRUE(needs_refresh(delivery({{"x-delivery-count", "3"}}), 5));
  EXPECT_TRUE(needs_refresh(delivery({{"x-delivery-count", "1"}}), 2));
  EXPECT_FALSE(needs_refresh(delivery({{"x-delivery-count", "0"}}), 2));
  EXPECT_FALSE(needs_refresh(delivery({{"x-delivery-count", "9"}}), 0)) << "no limit, no refresh";
  EXPECT_FALSE(needs_refresh(delivery({{"x-delivery-count", "junk"}}), 2));
}

}  // namespace
}  // namespace beacon::amqp
