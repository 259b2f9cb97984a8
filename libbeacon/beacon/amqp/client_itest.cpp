// Client against a real RabbitMQ ($BEACON_AMQP_URL). Every wait is bounded
// and fails with a message saying what did not happen.
#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include "test_broker.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace beacon::amqp {
namespace {

using namespace std::chrono_literals;
using testing::BrokerTest;
using testing::poll_until;
using testing::receive;

class ClientTest : public BrokerTest {
 protected:
  // A durable queue of `type` bound to the default exchange by its name.
  std::string make_queue(Client& client, std::string_view prefix, const QueueArgs& args = {}) {
    return client.declare_queue(own_queue(unique_name(prefix)), args);
  }

  // Publishes `bodies` to `queue` through the default exchange and waits
  // until all are confirmed ok.
  void publish_confirmed(Client& client, const std::string& queue,
                         const std::vector<std::string>& bodies) {
    for (const auto& body : bodies) client.publish("", queue, body);
    const auto confirms = client.wait_for_confirms(std::chrono::steady_clock::now() + 30s);
    ASSERT_EQ(confirms.size(), bodies.size());
    for (const auto& c : confirms) ASSERT_TRUE(c.ok) << "seq " << c.seq << ": " << c.reason;
  }
};

TEST_F(ClientTest, PublishesTwoThousandWithConfirmsAndConsumesThemAllWithAcks) {
  constexpr int kCount = 2000;
  auto producer = connect("producer");
  QueueArgs args;
  args.type = "quorum";
  const std::string queue = make_queue(*producer, "bulk", args);

  for (int i = 0; i < kCount; ++i) {
    PublishProps props;
    props.message_id = "msg-" + std::to_string(i);
    props.headers = {{"x-index", std::to_string(i)}};
    EXPECT_EQ(producer->publish("", queue, "body-" + std::to_string(i), props),
              static_cast<std::uint64_t>(i + 1));
  }
  const auto confirms = producer->wait_for_confirms(std::chrono::steady_clock::now() + 60s);
  ASSERT_EQ(confirms.size(), static_cast<std::size_t>(kCount));
  std::vector<bool> seen_seq(kCount + 1, false);
  for (const auto& c : confirms) {
    ASSERT_TRUE(c.ok) << "seq " << c.seq << ": " << c.reason;
    ASSERT_GE(c.seq, 1u);
    ASSERT_LE(c.seq, static_cast<std::uint64_t>(kCount));
    EXPECT_FALSE(seen_seq[c.seq]) << "seq " << c.seq << " confirmed twice";
    seen_seq[c.seq] = true;
  }
  EXPECT_EQ(producer->unconfirmed(), 0u);

  auto consumer = connect("consumer");
  consumer->set_prefetch(100);
  consumer->consume(queue);
  int received = 0;
  ASSERT_TRUE(poll_until(
      *consumer,
      [&] {
        while (auto d = consumer->take_delivery()) {
          // One publisher, one consumer, no requeues: the broker keeps order.
          EXPECT_EQ(d->body, "body-" + std::to_string(received));
          EXPECT_EQ(d->message_id, "msg-" + std::to_string(received));
          EXPECT_EQ(d->content_type, "application/json");
          EXPECT_EQ(d->headers, (Headers{{"x-index", std::to_string(received)}}))
              << "the publish sequence header must be stripped";
          EXPECT_FALSE(d->redelivered);
          EXPECT_FALSE(d->oversized);
          EXPECT_EQ(d->generation, consumer->generation());
          consumer->ack(d->tag);
          ++received;
        }
        return received == kCount;
      },
      60s))
      << "received only " << received << " of " << kCount;

  ASSERT_TRUE(poll_until(
      *consumer, [&] { return producer->queue_message_count(queue) == 0; }, 10s))
      << "acked messages still in the queue";
}

TEST_F(ClientTest, UnroutableMandatoryPublishIsAFailedConfirmAndOthersStayOk) {
  auto client = connect();
  const std::string exchange = own_exchange(unique_name("unbound-x"));
  client->declare_exchange(exchange, "direct", false);
  const std::string queue = make_queue(*client, "routed");
  client->bind_queue(queue, exchange, "ok");

  const auto first = client->publish(exchange, "ok", "1");
  const auto lost = client->publish(exchange, "nowhere", "2");
  const auto last = client->publish(exchange, "ok", "3");
  const auto confirms = client->wait_for_confirms(std::chrono::steady_clock::now() + 10s);
  ASSERT_EQ(confirms.size(), 3u);
  for (const auto& c : confirms) {
    if (c.seq == lost) {
      EXPECT_FALSE(c.ok);
      EXPECT_NE(c.reason.find("returned"), std::string::npos) << c.reason;
      EXPECT_NE(c.reason.find("NO_ROUTE"), std::string::npos) << c.reason;
    } else {
      EXPECT_TRUE(c.seq == first || c.seq == last) << c.seq;
      EXPECT_TRUE(c.ok) << c.reason;
    }
  }
  EXPECT_EQ(client->queue_message_count(queue), 2u);
}

TEST_F(ClientTest, NonMandatoryUnroutablePublishIsConfirmedOk) {
  // The broker accepted responsibility; dropping it was the caller's choice.
  auto client = connect();
  const std::string exchange = own_exchange(unique_name("unbound-x"));
  client->declare_exchange(exchange, "direct", false);
  PublishProps props;
  props.mandatory = false;
  client->publish(exchange, "nowhere", "x", props);
  const auto confirms = client->wait_for_confirms(std::chrono::steady_clock::now() + 10s);
  ASSERT_EQ(confirms.size(), 1u);
  EXPECT_TRUE(confirms[0].ok);
}

TEST_F(ClientTest, UnackedDeliveriesAreRedeliveredAfterTheConsumerCloses) {
  auto client = connect("producer");
  const std::string queue = make_queue(*client, "redeliver");
  publish_confirmed(*client, queue, {"a", "b", "c"});

  auto first = connect("first consumer");
  first->consume(queue);
  const auto got = receive(*first, 3, 10s);
  ASSERT_EQ(got.size(), 3u) << "first consumer did not get all three";
  for (const auto& d : got) EXPECT_FALSE(d.redelivered);
  first->close();  // no acks
  EXPECT_FALSE(first->connected());

  auto second = connect("second consumer");
  second->consume(queue);
  const auto again = receive(*second, 3, 10s);
  ASSERT_EQ(again.size(), 3u) << "unacked messages were not redelivered";
  std::vector<std::string> bodies;
  for (const auto& d : again) {
    EXPECT_TRUE(d.redelivered) << d.body;
    bodies.push_back(d.body);
    second->ack(d.tag);
  }
  std::sort(bodies.begin(), bodies.end());
  EXPECT_EQ(bodies, (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(ClientTest, PrefetchIsHonoured) {
  auto client = connect("producer");
  const std::string queue = make_queue(*client, "prefetch");
  publish_confirmed(*client, queue, std::vector<std::string>(20, "m"));

  auto consumer = connect("consumer");
  consumer->set_prefetch(5);
  consumer->consume(queue);
  const auto got = receive(*consumer, 5, 10s);
  ASSERT_EQ(got.size(), 5u) << "the first five deliveries did not arrive";
  // Bounded window in which a sixth would arrive if prefetch were ignored.
  poll_until(*consumer, [&] { return consumer->ready_deliveries() > 0; }, 1500ms);
  EXPECT_EQ(consumer->ready_deliveries(), 0u) << "more than prefetch=5 unacked deliveries";

  // Acking one opens exactly one slot.
  consumer->ack(got.front().tag);
  const auto next = receive(*consumer, 1, 10s);
  ASSERT_EQ(next.size(), 1u) << "no delivery after an ack freed a prefetch slot";
  poll_until(*consumer, [&] { return consumer->ready_deliveries() > 0; }, 1000ms);
  EXPECT_EQ(consumer->ready_deliveries(), 0u);
}

TEST_F(ClientTest, QuorumDeliveryLimitDeadLettersAfterRepeatedRequeues) {
  auto client = connect();
  const std::string dlx = own_exchange(unique_name("dlx"));
  client->declare_exchange(dlx, "fanout", false);
  const std::string dead = make_queue(*client, "dead");
  client->bind_queue(dead, dlx, "");
  QueueArgs args;
  args.type = "quorum";
  args.dead_letter_exchange = dlx;
  args.delivery_limit = 2;
  const std::string queue = make_queue(*client, "limited", args);
  publish_confirmed(*client, queue, {"poison"});

  auto consumer = connect("consumer");
  consumer->consume(queue);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const auto got = receive(*consumer, 1, 10s);
    ASSERT_EQ(got.size(), 1u) << "delivery " << attempt << " did not arrive";
    EXPECT_EQ(got[0].body, "poison");
    EXPECT_EQ(got[0].redelivered, attempt > 1);
    consumer->reject(got[0].tag, /*requeue=*/true);
  }

  auto dead_consumer = connect("dead consumer");
  dead_consumer->consume(dead);
  const auto dead_letters = receive(*dead_consumer, 1, 10s);
  ASSERT_EQ(dead_letters.size(), 1u) << "the message did not reach the dead-letter queue";
  EXPECT_EQ(dead_letters[0].body, "poison");
  dead_consumer->ack(dead_letters[0].tag);
  // And it is gone from the work queue.
  poll_until(*consumer, [&] { return consumer->ready_deliveries() > 0; }, 500ms);
  EXPECT_EQ(consumer->ready_deliveries(), 0u);
  EXPECT_EQ(client->queue_message_count(queue), 0u);
}

TEST_F(ClientTest, PollAloneKeepsTheConnectionAliveThroughHeartbeats) {
  ClientOptions o = options();
  o.heartbeat_s = 2;
  auto client = connect(o);
  // Each poll waits longer than the heartbeat interval, so heartbeats must
  // be sent from inside a wait as well as between calls.
  const auto until = std::chrono::steady_clock::now() + 7s;
  for (auto now = std::chrono::steady_clock::now(); now < until;
       now = std::chrono::steady_clock::now()) {
    client->poll(std::min(std::chrono::duration_cast<std::chrono::milliseconds>(until - now),
                          std::chrono::milliseconds(2500)));
  }
  EXPECT_TRUE(client->connected());
  // The broker agrees: a round trip still works.
  const std::string queue = make_queue(*client, "alive");
  EXPECT_EQ(client->queue_message_count(queue), 0u);
}

TEST_F(ClientTest, WithoutPollingTheBrokerDropsTheConnectionAndConnectRecovers) {
  // The control for the heartbeat test above: the same 7 s without a pump
  // call are more than two missed heartbeats, so the broker hangs up.
  ClientOptions o = options();
  o.heartbeat_s = 2;
  auto client = connect(o);
  const auto generation = client->generation();
  std::this_thread::sleep_for(7s);  // the silence is what is under test
  try {
    for (int i = 0; i < 50; ++i) client->poll(100ms);
    FAIL() << "the broker kept a connection that sent no heartbeats for 7 s";
  } catch (const ConnectionLost& e) {
    SUCCEED() << e.what();
  }
  EXPECT_FALSE(client->connected());
  EXPECT_THROW(client->poll(10ms), ConnectionLost);

  client->connect();
  EXPECT_TRUE(client->connected());
  EXPECT_EQ(client->generation(), generation + 1);
  const std::string queue = make_queue(*client, "recovered");
  publish_confirmed(*client, queue, {"after reconnect"});
}

TEST_F(ClientTest, OversizedBodyIsReportedTruncatedAndTheStreamStaysInSync) {
  auto client = connect("producer");
  const std::string queue = make_queue(*client, "oversized");
  std::string big(300000, '\0');  // spans several 128 KiB frames
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  publish_confirmed(*client, queue, {big, "small"});

  ClientOptions o = options("consumer");
  o.max_body_bytes = 1024;
  auto consumer = connect(o);
  consumer->consume(queue);
  const auto got = receive(*consumer, 2, 10s);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].oversized);
  EXPECT_EQ(got[0].body_size, big.size());
  EXPECT_EQ(got[0].body, big.substr(0, 1024));
  EXPECT_FALSE(got[1].oversized);
  EXPECT_EQ(got[1].body, "small");
  EXPECT_EQ(got[1].body_size, 5u);
  for (const auto& d : got) consumer->ack(d.tag);
}

TEST_F(ClientTest, ConsumingAMissingQueueIsChannelClosed404) {
  auto client = connect();
  try {
    client->consume(unique_name("missing"));
    FAIL() << "consume on a missing queue succeeded";
  } catch (const ChannelClosed& e) {
    EXPECT_EQ(e.reply_code(), kReplyNotFound);
    EXPECT_NE(e.reply_text().find("NOT_FOUND"), std::string::npos) << e.reply_text();
  }
  // The consumer channel died with its session: the client says so.
  EXPECT_FALSE(client->connected());
  client->connect();
  EXPECT_TRUE(client->connected());
}

TEST_F(ClientTest, PublishingToAMissingExchangeFailsTheSession) {
  auto client = connect();
  client->publish(unique_name("no-such-exchange"), "k", "x");
  try {
    client->wait_for_confirms(std::chrono::steady_clock::now() + 10s);
    FAIL() << "publish to a missing exchange was confirmed";
  } catch (const ChannelClosed& e) {
    EXPECT_EQ(e.reply_code(), kReplyNotFound);
  }
  EXPECT_FALSE(client->connected());
  EXPECT_EQ(client->unconfirmed(), 1u) << "its fate is unknown, and reported so";
}

TEST_F(ClientTest, ARefusedDeclareLeavesConsumerAndPublisherWorking) {
  auto client = connect();
  const std::string queue = make_queue(*client, "typed");  // classic by default
  client->consume(queue);
  QueueArgs quorum;
  quorum.type = "quorum";
  try {
    client->declare_queue(queue, quorum);
    FAIL() << "re-declaring a classic queue as quorum succeeded";
  } catch (const ChannelClosed& e) {
    EXPECT_EQ(e.reply_code(), kReplyPreconditionFailed);
  }
  EXPECT_TRUE(client->connected());
  publish_confirmed(*client, queue, {"still works"});
  const auto got = receive(*client, 1, 10s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "still works");
  client->ack(got[0].tag);
  EXPECT_EQ(client->queue_message_count(queue), 0u);  // topology channel reopened
}

TEST_F(ClientTest, DeletingTheQueueCancelsTheConsumerVisibly) {
  auto client = connect();
  const std::string queue = make_queue(*client, "cancelled");
  const std::string tag = client->consume(queue);
  auto admin = connect("admin");
  admin->delete_queue(queue);
  try {
    poll_until(*client, [] { return false; }, 5s);
    FAIL() << "no consumer cancellation within 5 s";
  } catch (const ConsumerCancelled& e) {
    EXPECT_EQ(e.consumer_tag(), tag);
  }
  EXPECT_TRUE(client->connected());
}

TEST_F(ClientTest, CancelStopsNewDeliveriesButKeepsUnackedOnes) {
  auto client = connect();
  const std::string queue = make_queue(*client, "cancel");
  publish_confirmed(*client, queue, {"1", "2", "3", "4"});
  client->set_prefetch(2);
  const std::string tag = client->consume(queue);
  const auto got = receive(*client, 2, 10s);
  ASSERT_EQ(got.size(), 2u);
  client->cancel(tag);
  for (const auto& d : got) client->ack(d.tag);  // tags stay valid after cancel
  poll_until(*client, [&] { return client->ready_deliveries() > 0; }, 1000ms);
  EXPECT_EQ(client->ready_deliveries(), 0u) << "delivery after basic.cancel";
  EXPECT_EQ(client->queue_message_count(queue), 2u);
}

TEST_F(ClientTest, TempQueueReceivesFanoutControlMessages) {
  auto client = connect();
  const std::string exchange = own_exchange(unique_name("control"));
  client->declare_exchange(exchange, "fanout", false);
  const std::string a = client->declare_temp_queue_bound_to(exchange);
  auto other = connect("other listener");
  const std::string b = other->declare_temp_queue_bound_to(exchange);
  EXPECT_NE(a, b);
  EXPECT_FALSE(a.empty());
  client->consume(a);
  other->consume(b);
  client->publish(exchange, "", R"({"cancel":"job-1"})");
  ASSERT_EQ(client->wait_for_confirms(std::chrono::steady_clock::now() + 10s).size(), 1u);
  const auto got_a = receive(*client, 1, 10s);
  const auto got_b = receive(*other, 1, 10s);
  ASSERT_EQ(got_a.size(), 1u);
  ASSERT_EQ(got_b.size(), 1u);
  EXPECT_EQ(got_a[0].body, R"({"cancel":"job-1"})");
  EXPECT_EQ(got_b[0].body, R"({"cancel":"job-1"})");
}

TEST_F(ClientTest, ConnectionIsUnusableBeforeConnect) {
  Client client(options());
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.generation(), 0u);
  EXPECT_THROW(client.poll(1ms), ConnectionLost);
  EXPECT_THROW(client.publish("", "q", "x"), ConnectionLost);
}

TEST_F(ClientTest, UnreachableBrokerIsConnectionLostWithoutThePassword) {
  ClientOptions o = options();
  o.url = "amqp://guest:hunter2@127.0.0.1:1/";  // nothing listens on port 1
  o.connect_timeout = 2000ms;
  Client client(o);
  try {
    client.connect();
    FAIL() << "connected to port 1";
  } catch (const ConnectionLost& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:1"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(client.connected());
}

TEST_F(ClientTest, WrongPasswordIsConnectionLostNamingTheRefusal) {
  ClientOptions o = options();
  AmqpUrl url = parse_url(url_);
  url.password = "definitely-wrong";
  o.url = "amqp://" + url.user + ":definitely-wrong@" + url.host + ":" + std::to_string(url.port);
  Client client(o);
  try {
    client.connect();
    FAIL() << "logged in with a wrong password";
  } catch (const ConnectionLost& e) {
    EXPECT_EQ(std::string(e.what()).find("definitely-wrong"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ACCESS_REFUSED"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace beacon::amqp
