#include "faults.hpp"

#include <cstdlib>
#include <memory>
#include <regex>

#include <gtest/gtest.h>

#include <beacon/amqp/errors.hpp>
#include <beacon/amqp/topology.hpp>

#include "fleet.hpp"
#include "wait.hpp"

namespace beacon::test {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

ScopedEnv::ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
  if (const char* v = std::getenv(name_.c_str())) {
    had_ = true;
    old_ = v;
  }
  ::setenv(name_.c_str(), value.c_str(), 1);
}

ScopedEnv::~ScopedEnv() {
  if (had_) {
    ::setenv(name_.c_str(), old_.c_str(), 1);
  } else {
    ::unsetenv(name_.c_str());
  }
}

int logged_metrics_port(Process& p, std::chrono::milliseconds timeout) {
  std::regex re("metrics on [0-9.]+:([0-9]+)");
  int port = 0;
  eventually(
      [&] {
        std::smatch m;
        auto out = p.output();
        if (std::regex_search(out, m, re)) port = std::stoi(m[1]);
        return port != 0 || !p.running();
      },
      timeout);
  return port;
}

double scrape(int port, const std::string& metric) {
  auto body = Fleet::http_get("127.0.0.1", port, "/metrics");
  if (body.empty()) return -1;
  return metric_value(body, metric);
}

bool is_ready(int port) { return Fleet::http_get("127.0.0.1", port, "/readyz") == "ready\n"; }

RunResult restart_service(const std::string& which, std::chrono::milliseconds timeout) {
  auto script = require_env("BEACON_SERVICES_SCRIPT");
  auto dir = require_env("BEACON_SERVICES_DIR");
  return run({"/bin/bash", script, "restart-" + which, dir}, {}, timeout);
}

namespace {

std::unique_ptr<amqp::Client> connect_client(const std::string& name) {
  auto c = std::make_unique<amqp::Client>(amqp::ClientOptions{require_env("BEACON_AMQP_URL"), name});
  c->connect();
  return c;
}

}  // namespace

void publish_raw(const std::vector<RawMessage>& messages) {
  amqp::Client c(amqp::ClientOptions{require_env("BEACON_AMQP_URL"), "beacon-test-raw-publisher"});
  c.connect();
  for (const auto& m : messages) {
    amqp::PublishProps props;
    props.message_id = m.message_id;
    props.headers = m.headers;
    c.publish(m.exchange, m.routing_key, m.body, props);
  }
  for (const auto& conf : c.wait_for_confirms(Clock::now() + 60s))
    EXPECT_TRUE(conf.ok) << "the broker refused a test message: " << conf.reason;
  c.close();
}

std::vector<amqp::Delivery> take_dead_letters(const std::function<bool(const amqp::Delivery&)>& mine,
                                              std::size_t expected, std::chrono::milliseconds timeout) {
  amqp::Client c(amqp::ClientOptions{require_env("BEACON_AMQP_URL"), "beacon-test-dead-reader"});
  c.connect();
  amqp::declare_core(c, amqp::topology_options_from_env());
  const std::string queue(amqp::kDeadQueue);
  std::size_t present = c.queue_message_count(queue);
  c.set_prefetch(0);  // unlimited: the others stay unacked until close() gives them back
  c.consume(queue);
  std::vector<amqp::Delivery> found;
  std::size_t seen = 0;
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (expected > 0 && found.size() >= expected) break;
    if (expected == 0 && seen >= present) break;
    c.poll(50ms);
    while (auto d = c.take_delivery()) {
      ++seen;
      if (mine(*d)) {
        c.ack(d->tag);
        found.push_back(std::move(*d));
      }
    }
  }
  c.close();
  return found;
}

long queue_depth(const std::string& queue) {
  try {
    auto c = connect_client("beacon-test-depth");
    long n = c->queue_message_count(queue);
    c->close();
    return n;
  } catch (const amqp::ChannelClosed&) {
    return -1;
  }
}

void delete_queue(const std::string& queue) {
  auto c = connect_client("beacon-test-cleanup");
  c->delete_queue(queue);
  c->close();
}

std::size_t consume_settling(const std::string& queue,
                             const std::function<bool(const amqp::Delivery&, bool& stop)>& on,
                             std::chrono::milliseconds timeout) {
  auto c = connect_client("beacon-test-consumer");
  c->set_prefetch(1);
  c->consume(queue);
  std::size_t seen = 0;
  bool stop = false;
  auto deadline = Clock::now() + timeout;
  while (!stop && Clock::now() < deadline) {
    c->poll(50ms);
    while (auto d = c->take_delivery()) {
      ++seen;
      if (on(*d, stop)) {
        c->ack(d->tag);
      } else {
        c->reject(d->tag, true);
      }
      if (stop) break;
    }
  }
  c->close();
  return seen;
}

}  // namespace beacon::test
