#include "faults.hpp"

#include <cstdio>
#include <cstdlib>
#include <limits>
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

std::optional<double> try_scrape(int port, const std::string& metric) {
  auto body = Fleet::http_get("127.0.0.1", port, "/metrics");
  if (body.empty()) return std::nullopt;
  return metric_value(body, metric);
}

double scrape(int port, const std::string& metric) {
  auto body = Fleet::http_get("127.0.0.1", port, "/metrics");
  if (body.empty()) {
    ADD_FAILURE() << "no /metrics answer on port " << port << " (wanted " << metric << ")";
    return std::numeric_limits<double>::quiet_NaN();
  }
  auto v = metric_value(body, metric);
  if (!v) {
    ADD_FAILURE() << "metric " << metric << " is absent from /metrics on port " << port << ":\n" << body;
    return std::numeric_limits<double>::quiet_NaN();
  }
  return *v;
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
                             std::chrono::milliseconds timeout, std::chrono::milliseconds idle,
                             std::uint16_t prefetch) {
  auto c = connect_client("beacon-test-consumer");
  c->set_prefetch(prefetch);
  c->consume(queue);
  std::size_t seen = 0;
  bool stop = false;
  auto deadline = Clock::now() + timeout;
  auto last = Clock::now();
  while (!stop && Clock::now() < deadline) {
    if (idle.count() > 0 && Clock::now() - last >= idle) break;
    c->poll(50ms);
    while (auto d = c->take_delivery()) {
      ++seen;
      last = Clock::now();
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

std::string numbered_spec(const std::vector<std::string>& regions, const std::vector<std::string>& models,
                          int questions, const std::string& tag) {
  auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "\"" : ",\"") + x + "\"";
    return "[" + out + "]";
  };
  std::string qs;
  for (int i = 0; i < questions; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "q%04d", i);
    qs += std::string(i ? "," : "") + "{\"id\":\"" + id + "\",\"prompt\":\"Question " + std::to_string(i) +
          " of test " + tag + "?\"}";
  }
  return "{\"models\":" + list(models) + ",\"regions\":" + list(regions) + ",\"questions\":[" + qs +
         "],\"samples\":1,\"system_prompt\":\"You are a helpful assistant based in {region}.\"," +
         "\"params\":{\"temperature\":0.1,\"max_tokens\":64}}";
}

std::optional<long> try_sim_stat(const Fleet& f, const std::string& field) {
  auto url = f.sim_url();  // http://127.0.0.1:P
  auto port = std::stoi(url.substr(url.rfind(':') + 1));
  auto body = Fleet::http_get("127.0.0.1", port, "/stats");
  std::smatch m;
  std::regex re("\"" + field + "\":\\s*(-?[0-9]+)");
  if (!std::regex_search(body, m, re)) return std::nullopt;
  return std::stol(m[1]);
}

long sim_stat(const Fleet& f, const std::string& field) {
  auto v = try_sim_stat(f, field);
  if (!v) {
    ADD_FAILURE() << "the sim at " << f.sim_url() << " gave no '" << field << "' in /stats (is it still running?)";
    return -1;
  }
  return *v;
}

void expect_exact(Fleet& f, const std::string& job, long total, long completed) {
  auto j = f.job(job);
  ASSERT_TRUE(j.has_value()) << "no job " << job;
  auto e = f.executions(job);
  EXPECT_EQ(e.rows, total) << "invariant 1: one row per planned execution";
  EXPECT_EQ(e.distinct_keys, total) << "invariant 1: one row per key";
  EXPECT_EQ(j->total, total);
  EXPECT_EQ(e.completed, completed);
  EXPECT_EQ(j->completed, e.completed) << "invariant 2: jobs.completed = completed rows";
  EXPECT_EQ(j->failed, e.failed) << "invariant 2: jobs.failed = failed rows";
  EXPECT_EQ(j->cancelled, e.cancelled) << "invariant 2: jobs.cancelled = cancelled rows";
  EXPECT_EQ(e.running + e.pending, 0) << "a finished job has no open executions";
}

}  // namespace beacon::test
