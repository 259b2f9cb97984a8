#pragma once
// Support for the integration tests of beacon/amqp: a real broker at
// $BEACON_AMQP_URL. Without the variable every test FAILS (never skips), so
// a CI job that forgot the broker cannot pass by testing nothing.
#include <beacon/amqp/client.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::amqp::testing {

// Fixture: SetUp fails the test when BEACON_AMQP_URL is missing; TearDown
// deletes every queue and exchange registered with own_queue/own_exchange
// (through a fresh connection, since the test may have broken its own).
class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Options for a client of this test, named after it for the management UI.
  ClientOptions options(std::string_view role = "client") const;
  // A connected client; the test owns it.
  std::unique_ptr<Client> connect(std::string_view role = "client") const;
  std::unique_ptr<Client> connect(ClientOptions options) const;
  // "beacon-test.<prefix>.<random>": unique per run, so parallel runs and
  // leftovers of a crashed run never collide.
  static std::string unique_name(std::string_view prefix);
  std::string own_queue(const std::string& name);
  std::string own_exchange(const std::string& name);

  std::string url_;

 private:
  std::vector<std::string> queues_;
  std::vector<std::string> exchanges_;
};

// Pumps `client` until `done()` holds or `limit` passes; returns done().
bool poll_until(Client& client, const std::function<bool()>& done,
                std::chrono::milliseconds limit);

// Takes deliveries from `client` until `count` arrived or `limit` passed.
std::vector<Delivery> receive(Client& client, std::size_t count, std::chrono::milliseconds limit);

}  // namespace beacon::amqp::testing
