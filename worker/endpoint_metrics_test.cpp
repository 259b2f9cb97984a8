#include "endpoint_metrics.hpp"

#include <gtest/gtest.h>

namespace beacon {
namespace {

infer::AttemptEvent attempt(int status, std::optional<ErrorKind> kind, double ms) {
  infer::AttemptEvent e;
  e.endpoint = "http://gpu:8000/v1";
  e.region = "us-east";
  e.model = "*";
  e.http_status = status;
  e.error_kind = kind;
  e.latency_ms = ms;
  return e;
}

bool has(const std::string& text, const std::string& line) { return text.find(line) != std::string::npos; }

TEST(EndpointMetrics, AttemptsCountRequestsErrorsByKindAndLatency) {
  metrics::Registry r;
  EndpointMetrics m(r);
  m.observe(attempt(200, std::nullopt, 250));
  m.observe(attempt(503, ErrorKind::http, 10));
  m.observe(attempt(0, ErrorKind::connect, 0));
  auto text = r.render();
  const std::string l = R"(endpoint="http://gpu:8000/v1",model="*",region="us-east")";
  EXPECT_TRUE(has(text, "beacon_worker_inference_attempts_total{" + l + "} 3")) << text;
  EXPECT_TRUE(has(text, R"(beacon_worker_inference_errors_total{endpoint="http://gpu:8000/v1",kind="http",model="*",region="us-east"} 1)"))
      << text;
  EXPECT_TRUE(has(text, R"(beacon_worker_inference_errors_total{endpoint="http://gpu:8000/v1",kind="connect",model="*",region="us-east"} 1)"))
      << text;
  // Only attempts that got a response have a latency.
  EXPECT_TRUE(has(text, "beacon_worker_inference_latency_seconds_count{" + l + "} 2")) << text;
  EXPECT_TRUE(has(text, "beacon_worker_inference_latency_seconds_sum{" + l + "} 0.26")) << text;
}

TEST(EndpointMetrics, StatsSnapshotsSetGaugesAndCountCircuitOpenings) {
  metrics::Registry r;
  EndpointMetrics m(r);
  infer::EndpointStats s;
  s.endpoint = "http://gpu:8000/v1";
  s.region = "us-east";
  s.model = "*";
  s.in_flight = 7;
  s.queued = 3;
  s.circuit = infer::CircuitState::open;
  s.circuit_opened = 2;
  m.refresh({s});
  s.circuit = infer::CircuitState::half_open;
  s.circuit_opened = 3;
  s.in_flight = 1;
  m.refresh({s});
  m.refresh({s});  // a snapshot without news changes nothing
  auto text = r.render();
  const std::string l = R"({endpoint="http://gpu:8000/v1",model="*",region="us-east"})";
  EXPECT_TRUE(has(text, "beacon_worker_endpoint_in_flight" + l + " 1")) << text;
  EXPECT_TRUE(has(text, "beacon_worker_endpoint_queued" + l + " 3")) << text;
  EXPECT_TRUE(has(text, "beacon_worker_endpoint_circuit_state" + l + " 1")) << text;
  EXPECT_TRUE(has(text, "beacon_worker_endpoint_circuit_opened_total" + l + " 3")) << text;
}

}  // namespace
}  // namespace beacon
