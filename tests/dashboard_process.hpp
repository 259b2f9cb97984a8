#pragma once
// beacon-dashboard as a child process of a test, on an ephemeral port.
#include <map>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>

#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {

struct DashboardProcess {
  std::unique_ptr<Process> proc;
  int port = 0;
  std::string base_url;  // http://127.0.0.1:PORT
};

// Starts the dashboard with the fleet's environment plus `extra` and waits
// for its "listening on" line. Throws with its output when it does not come up.
inline DashboardProcess start_dashboard(Fleet& f, std::map<std::string, std::string> extra = {}) {
  auto env = f.env();
  env["BEACON_DASHBOARD_ADDR"] = "127.0.0.1:0";
  for (auto& [k, v] : extra) env[k] = v;
  DashboardProcess d;
  d.proc = std::make_unique<Process>(std::vector<std::string>{build_dir() + "/beacon-dashboard"}, env,
                                     f.dir() + "/dashboard-" + unique_suffix() + ".log");
  const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)/");
  std::smatch m;
  eventually(
      [&] {
        const auto out = d.proc->output();
        if (std::regex_search(out, m, listening)) d.port = std::stoi(m[1]);
        return d.port != 0 || !d.proc->running();
      },
      std::chrono::seconds(20));
  if (d.port == 0) throw std::runtime_error("beacon-dashboard did not start: " + d.proc->output());
  d.base_url = "http://127.0.0.1:" + std::to_string(d.port);
  return d;
}

}  // namespace beacon::test
