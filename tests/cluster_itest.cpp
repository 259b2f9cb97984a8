// Issue 12 (broker half): beacon on a 3-node RabbitMQ cluster with quorum
// queues replicated on every node. A job of a few thousand executions runs
// with endpoint latency; workers and the writer are connected to different
// nodes; mid-job the node that leads beacon.exec.<region> (and, if another,
// the one that leads beacon.results) is SIGKILLed, later brought back, and
// then another leader is killed and stays down until the job is finished.
// Exactly one row per key, exact counters, no dead letters; endpoint
// duplicates and recovery times are printed as [figures].
//
// The test starts its own cluster (scripts/services.sh with
// BEACON_RABBITMQ_NODES=3 and a private folder) and removes it at the end.
// Label `cluster` (scripts/test.sh -L cluster).
#include <csignal>
#include <iostream>
#include <cstdlib>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include <beacon/amqp/topology.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kNodes = 3;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr std::string_view kConnected = "amqp: connected to ";

std::size_t connects(const std::string& log) {
  std::size_t n = 0;
  for (auto at = log.find(kConnected); at != std::string::npos; at = log.find(kConnected, at + 1)) ++n;
  return n;
}

// The port of the node a part connected to last (from its log line
// "amqp: connected to amqp://guest:***@127.0.0.1:PORT (node ..."), 0 if none.
int connected_port(const std::string& log) {
  const auto at = log.rfind(kConnected);
  if (at == std::string::npos) return 0;
  const auto space = log.find(' ', at + kConnected.size());
  const auto colon = log.rfind(':', space);
  if (space == std::string::npos || colon == std::string::npos || colon < at) return 0;
  return std::atoi(log.substr(colon + 1, space - colon - 1).c_str());
}

std::string services_script() {
  const char* s = std::getenv("BEACON_SERVICES_SCRIPT");
  return s != nullptr && *s != '\0' ? std::string(s) : source_dir() + "/scripts/services.sh";
}

// A private 3-node cluster (and its own Postgres) for the lifetime of the
// object; its env.sh is loaded into this process's environment, so the
// fleet and every child use it.
class PrivateCluster {
 public:
  PrivateCluster() : dir_(build_dir() + "/cluster-itest-" + unique_suffix()) {
    const auto t0 = Clock::now();
    const RunResult r =
        run({"/usr/bin/env", "BEACON_RABBITMQ_NODES=" + std::to_string(kNodes), services_script(), "start", dir_}, {},
            300s);
    started_ = r.exit_code == 0;
    if (!started_) {
      ADD_FAILURE() << "services.sh start of a " << kNodes << "-node cluster failed:\n" << r.out << r.err;
      return;
    }
    std::cout << "[figures] " << kNodes << "-node cluster started in " << seconds_since(t0) << " s\n";
    const RunResult env = run({"/bin/bash", "-c", "source '" + dir_ + "/env.sh' && env"});
    std::istringstream lines(env.out);
    for (std::string line; std::getline(lines, line);) {
      const auto eq = line.find('=');
      if (line.rfind("BEACON_", 0) != 0 || eq == std::string::npos) continue;
      const std::string name = line.substr(0, eq);
      if (name == "BEACON_SERVICES_DIR" || name == "BEACON_BUILD_DIR" || name == "BEACON_SOURCE_DIR") continue;
      vars_[name] = line.substr(eq + 1);
      scoped_.push_back(std::make_unique<ScopedEnv>(name, vars_[name]));
    }
    const RunResult m = run({build_dir() + "/beacon-producer", "migrate"});
    if (m.exit_code != 0) ADD_FAILURE() << "migrate on the cluster's database failed: " << m.err;
  }
  ~PrivateCluster() {
    scoped_.clear();
    const RunResult r = run({services_script(), "clean", dir_}, {}, 180s);
    if (r.exit_code != 0) std::cerr << "services.sh clean " << dir_ << " failed:\n" << r.out << r.err;
  }
  bool started() const { return started_; }
  std::string var(const std::string& name) const {
    const auto it = vars_.find(name);
    return it == vars_.end() ? std::string() : it->second;
  }
  std::string node_url(int k) const { return var("BEACON_AMQP_URL_" + std::to_string(k)); }
  // The list rotated to start at node k (with BEACON_AMQP_NODE_ORDER=listed
  // the part connects there first and fails over in list order).
  std::string urls_from(int k) const {
    std::string out;
    for (int i = 0; i < kNodes; ++i) out += (out.empty() ? "" : ",") + node_url((k - 1 + i) % kNodes + 1);
    return out;
  }
  // 1..kNodes of the node that leads `queue`, asked through a live node; 0 if unknown.
  int leader_of(const std::string& queue, const std::set<int>& down) const {
    for (int via = 1; via <= kNodes; ++via) {
      if (down.count(via) != 0) continue;
      const RunResult r = run({var("BEACON_RABBITMQCTL_" + std::to_string(via)), "-q", "list_queues", "name", "leader",
                               "--no-table-headers"});
      std::istringstream lines(r.out);
      for (std::string line; std::getline(lines, line);) {
        const auto tab = line.find('\t');
        if (tab == std::string::npos || line.substr(0, tab) != queue) continue;
        const std::string leader = line.substr(tab + 1);
        for (int k = 1; k <= kNodes; ++k)
          if (leader == var("BEACON_RABBITMQ_NODE_" + std::to_string(k))) return k;
      }
    }
    return 0;
  }
  // `rabbitmq-queues check_if_node_is_quorum_critical` on node k: true when
  // stopping k leaves every quorum queue a majority of members in sync.
  bool safe_to_stop(int k) const {
    std::string ctl = var("BEACON_RABBITMQCTL_" + std::to_string(k));
    ctl = ctl.substr(0, ctl.rfind('/')) + "/rabbitmq-queues";
    return run({ctl, "-q", "check_if_node_is_quorum_critical"}, {}, 60s).exit_code == 0;
  }
  bool kill_node(int k) { return node_cmd("kill-node", k); }
  bool start_node(int k) { return node_cmd("start-node", k); }

 private:
  bool node_cmd(const std::string& cmd, int k) {
    const RunResult r = run({services_script(), cmd, std::to_string(k), dir_}, {}, 300s);
    if (r.exit_code != 0) ADD_FAILURE() << "services.sh " << cmd << " " << k << " failed:\n" << r.out << r.err;
    return r.exit_code == 0;
  }
  std::string dir_;
  bool started_ = false;
  std::map<std::string, std::string> vars_;
  std::vector<std::unique_ptr<ScopedEnv>> scoped_;
};

TEST(BrokerCluster, JobSurvivesLeaderNodeKillsExactlyOnce) {
  PrivateCluster cluster;
  ASSERT_TRUE(cluster.started());
  ScopedEnv group("BEACON_QUORUM_GROUP_SIZE", std::to_string(kNodes));
  ScopedEnv order("BEACON_AMQP_NODE_ORDER", "listed");

  Fleet f("cluster");
  f.start_sim({"--latency-ms", "500", "--jitter-ms", "200"});
  const std::string region = "clu-" + unique_suffix();
  f.write_endpoints({region});
  // Writer on node 3 first, the workers on nodes 1 and 2.
  auto env_from = [&](int k) {
    auto e = f.env();
    e["BEACON_AMQP_URL"] = cluster.urls_from(k);
    return e;
  };
  Process writer({build_dir() + "/beacon-progress-writer"}, env_from(3), f.dir() + "/writer.log");
  Process worker1({build_dir() + "/beacon-worker", "--region", region, "--concurrency", "12"}, env_from(1),
                  f.dir() + "/worker-1.log");
  Process worker2({build_dir() + "/beacon-worker", "--region", region, "--concurrency", "12"}, env_from(2),
                  f.dir() + "/worker-2.log");
  auto logs = [&] {
    return "--- writer\n" + writer.output().substr(writer.output().size() > 3000 ? writer.output().size() - 3000 : 0) +
           "\n--- worker 1\n" + worker1.output().substr(worker1.output().size() > 3000 ? worker1.output().size() - 3000 : 0) +
           "\n--- worker 2\n" + worker2.output().substr(worker2.output().size() > 3000 ? worker2.output().size() - 3000 : 0);
  };
  for (auto* p : {&writer, &worker1, &worker2}) {
    ASSERT_TRUE(eventually([&] { return p->output().find("amqp: connected to") != std::string::npos; }, 60s))
        << "a part did not connect to the cluster\n" << logs();
  }
  EXPECT_NE(writer.output().find(cluster.node_url(3).substr(cluster.node_url(3).rfind(':'))), std::string::npos)
      << "the writer is not on node 3\n" << writer.output();

  const std::string job = "cluster-" + unique_suffix();
  constexpr long kTotal = 3000;  // 1 region x 3 models x 1000 questions
  const auto submit = f.submit(numbered_spec({region}, {"m1", "m2", "m3"}, 1000, job), job);
  ASSERT_EQ(submit.exit_code, 0) << submit.err;
  const std::string exec_queue = amqp::exec_queue(region);
  auto done = [&] { return f.executions(job).completed; };

  // A node loss, measured: from the SIGKILL until 60 more executions are recorded.
  std::set<int> down;
  const std::vector<std::pair<std::string, Process*>> parts = {
      {"writer", &writer}, {"worker 1", &worker1}, {"worker 2", &worker2}};
  auto kill_and_measure = [&](int node, const std::string& why) {
    const long before = done();
    ASSERT_LT(before, kTotal - 300) << "the job nearly finished before the node " << node << " kill";
    const int port = std::atoi(cluster.node_url(node).substr(cluster.node_url(node).rfind(':') + 1).c_str());
    std::vector<std::pair<std::string, Process*>> on_node;
    std::vector<std::size_t> connects_before;
    for (const auto& part : parts) {
      if (connected_port(part.second->output()) != port) continue;
      on_node.push_back(part);
      connects_before.push_back(connects(part.second->output()));
    }
    ASSERT_FALSE(on_node.empty()) << "no part was connected to node " << node << ": the kill tests no failover";
    const auto t0 = Clock::now();
    ASSERT_TRUE(cluster.kill_node(node));
    down.insert(node);
    for (std::size_t i = 0; i < on_node.size(); ++i) {
      Process& p = *on_node[i].second;
      ASSERT_TRUE(eventually([&] { return connects(p.output()) > connects_before[i]; }, 120s))
          << on_node[i].first << " did not fail over within 120 s after node " << node << " died\n" << logs();
      EXPECT_NE(connected_port(p.output()), port) << on_node[i].first << " reconnected to the dead node?";
      std::cout << "[figures] " << on_node[i].first << " (on node " << node << ") failed over after "
                << seconds_since(t0) << " s\n";
    }
    ASSERT_TRUE(eventually([&] { return done() >= before + 60; }, 120s))
        << "no progress within 120 s after killing node " << node << "\n" << logs();
    std::cout << "[figures] SIGKILL of node " << node << " (" << why << "): 60 more executions recorded after "
              << seconds_since(t0) << " s (" << before << " done at the kill)\n";
    const int new_leader = cluster.leader_of(exec_queue, down);
    std::cout << "[figures] " << exec_queue << " now led by node " << new_leader << "\n";
  };

  ASSERT_TRUE(eventually([&] { return done() >= kTotal / 10; }, 120s)) << "the job does not progress\n" << logs();
  const int exec_leader = cluster.leader_of(exec_queue, down);
  const int results_leader = cluster.leader_of(std::string(amqp::kResultsQueue), down);
  ASSERT_NE(exec_leader, 0) << "rabbitmqctl list_queues names no leader for " << exec_queue;
  ASSERT_NE(results_leader, 0) << "rabbitmqctl list_queues names no leader for beacon.results";
  std::cout << "[figures] leaders: " << exec_queue << " node " << exec_leader << ", beacon.results node "
            << results_leader << "\n";

  // Round 1: the exec queue's leader (and the results leader when it is the same node).
  ASSERT_NO_FATAL_FAILURE(
      kill_and_measure(exec_leader, exec_leader == results_leader ? "leads both queues" : "leads the exec queue"));
  const auto t_back = Clock::now();
  ASSERT_TRUE(cluster.start_node(exec_leader));
  down.erase(exec_leader);
  std::cout << "[figures] node " << exec_leader << " back (start-node) in " << seconds_since(t_back) << " s\n";

  // Round 2: another node, the one leading beacon.results now (or the exec queue), stays down.
  int second = cluster.leader_of(std::string(amqp::kResultsQueue), down);
  if (second == exec_leader || second == 0) second = cluster.leader_of(exec_queue, down);
  if (second == exec_leader || second == 0) second = exec_leader % kNodes + 1;
  // A node that came back first catches its quorum queue members up; until
  // then the cluster is one node short of a majority for them, and killing
  // another would stop the queues (what any operator checks before taking a
  // node down). Wait for it, and measure.
  const auto t_sync = Clock::now();
  ASSERT_TRUE(eventually([&] { return cluster.safe_to_stop(second); }, 300s, 1s))
      << "node " << second << " stayed quorum-critical for 300 s after node " << exec_leader << " came back\n"
      << logs();
  std::cout << "[figures] node " << exec_leader << "'s quorum queue members in sync " << seconds_since(t_sync)
            << " s after its start-node returned\n";
  ASSERT_NO_FATAL_FAILURE(kill_and_measure(second, "a leader after the first node came back"));

  const auto t_rest = Clock::now();
  ASSERT_TRUE(f.wait_finished(job, 300s)) << "the job did not finish with node " << second << " down\n" << logs();
  std::cout << "[figures] rest of the job with node " << second << " down: " << seconds_since(t_rest) << " s\n";
  expect_exact(f, job, kTotal, kTotal);
  auto dead = take_dead_letters([&](const amqp::Delivery& d) { return d.body.find(job) != std::string::npos; }, 0, 20s);
  EXPECT_TRUE(dead.empty()) << "a node loss is not bad input: " << dead.size() << " messages dead-lettered";
  const long requests = sim_stat(f, "requests"), duplicates = sim_stat(f, "duplicates");
  EXPECT_GE(requests, kTotal);
  std::cout << "[figures] cluster job of " << kTotal << " executions, 2 node kills: endpoint requests " << requests
            << ", duplicates " << duplicates << "\n";
  std::size_t refused_reconnects = 0;
  for (auto* p : {&worker1, &worker2}) {
    const std::string log = p->output();
    for (auto at = log.find("publishes in a row"); at != std::string::npos; at = log.find("publishes in a row", at + 1))
      ++refused_reconnects;
  }
  std::cout << "[figures] worker reconnects after every publish was refused (stale quorum queue channel): "
            << refused_reconnects << "\n";
  EXPECT_TRUE(writer.running()) << logs();
  EXPECT_TRUE(worker1.running()) << logs();
  EXPECT_TRUE(worker2.running()) << logs();
}

}  // namespace
}  // namespace beacon::test
