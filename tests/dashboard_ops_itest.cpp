// The operations kit (issue 11): worker and writer /metrics pass
// `promtool check metrics` (after a real job, so histograms and labelled
// series exist), the alert rules pass `promtool check rules` and their unit
// tests (`promtool test rules`: each alert fires on a synthetic series), the
// Grafana dashboard is valid JSON over metrics that exist, and the Kubernetes
// manifests pass the offline check (deploy/k8s/validate.py; never run on a cluster).
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include <beacon/core/json.hpp>

#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

const char* kPromtool = "/usr/bin/promtool";  // Debian package prometheus (scripts/deps.sh)

int metrics_port(Process& p) {
  std::smatch m;
  const std::regex re("metrics on [0-9.]+:([0-9]+)");
  int port = 0;
  eventually(
      [&] {
        const auto out = p.output();
        if (std::regex_search(out, m, re)) port = std::stoi(m[1]);
        return port != 0 || !p.running();
      },
      20s);
  return port;
}

RunResult promtool_check_metrics(const std::string& exposition, const std::string& file) {
  std::ofstream(file) << exposition;
  return run({"/bin/sh", "-c", std::string(kPromtool) + " check metrics < \"$0\"", file}, {}, 60s);
}

}  // namespace

TEST(OpsKit, WorkerAndWriterMetricsPassPromtool) {
  ASSERT_TRUE(std::filesystem::exists(kPromtool)) << "install the Debian package prometheus (scripts/deps.sh)";
  Fleet f("dash-ops");
  f.start_sim({"--latency-ms", "20", "--jitter-ms", "5", "--fail-rate", "0.2"});
  const std::string region = "dash-ops-" + unique_suffix();
  f.write_endpoints({region});
  auto& writer = f.start_writer({"--metrics-addr", "127.0.0.1:0"});
  auto& worker = f.start_worker(region, {"--metrics-addr", "127.0.0.1:0", "--concurrency", "4"});
  const auto job = "dash-ops-" + unique_suffix();
  const auto s = f.submit(R"({"models":["m1","m2"],"regions":[")" + region +
                              R"("],"questions":["math_basic","taiwan_status"],"samples":3})",
                          job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(f.wait_finished(job, 120s)) << f.logs_tail();

  for (auto* p : {&worker, &writer}) {
    const int port = metrics_port(*p);
    ASSERT_NE(port, 0) << p->output();
    const auto text = Fleet::http_get("127.0.0.1", port, "/metrics");
    ASSERT_NE(text.find("# TYPE"), std::string::npos) << text;
    const auto r = promtool_check_metrics(text, f.dir() + "/metrics-" + std::to_string(port) + ".txt");
    // promtool exits 1 for problems, 3 for lint-only findings: both fail here.
    EXPECT_EQ(r.exit_code, 0) << "promtool check metrics:\n" << r.out << r.err;
  }
  // Every one of the 12 executions ended in an event whose completion-to-row
  // time the writer measured, and none took a minute.
  const auto text = Fleet::http_get("127.0.0.1", metrics_port(writer), "/metrics");
  std::smatch count, within;
  ASSERT_TRUE(std::regex_search(text, count, std::regex("beacon_writer_completion_to_visible_seconds_count ([0-9]+)")))
      << text;
  EXPECT_GE(std::stoi(count[1]), 12);
  ASSERT_TRUE(std::regex_search(
      text, within, std::regex("beacon_writer_completion_to_visible_seconds_bucket\\{le=\"60\"\\} ([0-9]+)")))
      << text;
  EXPECT_EQ(within[1], count[1]) << text;
}

TEST(OpsKit, AlertRulesPassPromtoolAndFireInTheirUnitTests) {
  ASSERT_TRUE(std::filesystem::exists(kPromtool)) << "install the Debian package prometheus (scripts/deps.sh)";
  const auto dir = source_dir() + "/deploy/prometheus";
  const auto check = run({kPromtool, "check", "rules", dir + "/beacon-rules.yml"}, {}, 60s);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("5 rules found"), std::string::npos) << check.out;
  const auto test = run({kPromtool, "test", "rules", dir + "/beacon-rules.test.yml"}, {}, 120s);
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  // Every alert has a test in which it fires.
  const auto rules = read_text(dir + "/beacon-rules.yml");
  const auto tests = read_text(dir + "/beacon-rules.test.yml");
  const std::regex alert("alert: (\\w+)");
  int n = 0;
  for (std::sregex_iterator it(rules.begin(), rules.end(), alert), end; it != end; ++it, ++n)
    EXPECT_NE(tests.find("alertname: " + (*it)[1].str()), std::string::npos) << (*it)[1] << " has no test";
  EXPECT_EQ(n, 5);
}

TEST(OpsKit, GrafanaDashboardIsValidJsonOverExistingMetrics) {
  const auto doc = json::parse(read_text(source_dir() + "/deploy/grafana/beacon.json"));
  ASSERT_TRUE(doc.HasMember("panels"));
  EXPECT_GE(doc["panels"].Size(), 7u);
  std::string exprs;
  for (const auto& p : doc["panels"].GetArray())
    for (const auto& t : p["targets"].GetArray()) exprs += std::string(t["expr"].GetString()) + "\n";
  for (const char* metric : {"beacon_worker_executions_completed_total", "beacon_worker_endpoint_in_flight",
                             "beacon_worker_inference_latency_seconds_bucket", "beacon_worker_inference_errors_total",
                             "beacon_worker_endpoint_circuit_state", "rabbitmq_queue_messages_ready",
                             "beacon_writer_event_lag_seconds_bucket"})
    EXPECT_NE(exprs.find(metric), std::string::npos) << metric;
}

TEST(OpsKit, KubernetesManifestsPassTheOfflineCheck) {
  const auto r = run({"/usr/bin/python3", source_dir() + "/deploy/k8s/validate.py", source_dir() + "/deploy/k8s"}, {}, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("0 problems"), std::string::npos) << r.out;
}

}  // namespace beacon::test
