#include "test_broker.hpp"

#include <beacon/amqp/errors.hpp>

#include <cstdlib>
#include <random>

namespace beacon::amqp::testing {

void BrokerTest::SetUp() {
  const char* url = std::getenv("BEACON_AMQP_URL");
  ASSERT_TRUE(url != nullptr && *url != '\0')
      << "BEACON_AMQP_URL is not set: these integration tests need a running RabbitMQ, e.g. "
         "BEACON_AMQP_URL=amqp://guest:guest@127.0.0.1:5672";
  url_ = url;
}

void BrokerTest::TearDown() {
  if (url_.empty() || (queues_.empty() && exchanges_.empty())) return;
  try {
    auto client = connect("cleanup");
    for (const auto& q : queues_) client->delete_queue(q);
    for (const auto& e : exchanges_) client->delete_exchange(e);
    client->close();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cleanup failed: " << e.what();
  }
}

ClientOptions BrokerTest::options(std::string_view role) const {
  ClientOptions o;
  o.url = url_;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  o.connection_name = std::string("amqp-test ") + info->test_suite_name() + "." + info->name() +
                      " " + std::string(role);
  o.connect_timeout = std::chrono::milliseconds(5000);
  o.rpc_timeout = std::chrono::milliseconds(10000);
  return o;
}

std::unique_ptr<Client> BrokerTest::connect(std::string_view role) const {
  return connect(options(role));
}

std::unique_ptr<Client> BrokerTest::connect(ClientOptions o) const {
  auto client = std::make_unique<Client>(std::move(o));
  client->connect();
  return client;
}

std::string BrokerTest::unique_name(std::string_view prefix) {
  static std::mt19937_64 engine{std::random_device{}()};
  return "beacon-test." + std::string(prefix) + "." + std::to_string(engine() % 1000000000);
}

std::string BrokerTest::own_queue(const std::string& name) {
  queues_.push_back(name);
  return name;
}

std::string BrokerTest::own_exchange(const std::string& name) {
  exchanges_.push_back(name);
  return name;
}

bool poll_until(Client& client, const std::function<bool()>& done,
                std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    client.poll(std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                         std::chrono::milliseconds(100)));
  }
  return true;
}

std::vector<Delivery> receive(Client& client, std::size_t count,
                              std::chrono::milliseconds limit) {
  std::vector<Delivery> out;
  poll_until(
      client,
      [&] {
        while (out.size() < count) {
          auto d = client.take_delivery();
          if (!d) break;
          out.push_back(std::move(*d));
        }
        return out.size() >= count;
      },
      limit);
  return out;
}

}  // namespace beacon::amqp::testing
