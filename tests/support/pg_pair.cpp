#include "pg_pair.hpp"

#include <filesystem>
#include <iostream>
#include <regex>
#include <stdexcept>

#include <gtest/gtest.h>

#include "fleet.hpp"  // unique_suffix
#include "paths.hpp"

namespace beacon::test {

PgPair::PgPair(const std::string& name)
    // Short: the servers' unix sockets live under it (107 bytes at most).
    : dir_((std::filesystem::temp_directory_path() / ("beacon-" + name + "-" + unique_suffix())).string()) {
  auto r = script({"start", dir_});
  std::smatch m;
  static const std::regex kUrl("BEACON_DATABASE_URL=(\\S+)");
  if (r.exit_code != 0 || !std::regex_search(r.out, m, kUrl)) {
    ADD_FAILURE() << "scripts/pg-standby.sh start " << dir_ << " failed (exit " << r.exit_code << ")\n"
                  << r.out << r.err;
    script({"stop", dir_});
    throw std::runtime_error("no Postgres pair");
  }
  url_ = m[1];
}

PgPair::~PgPair() {
  auto r = script({"stop", dir_});
  if (r.exit_code != 0) std::cerr << "pg-standby.sh stop " << dir_ << " failed: " << r.out << r.err << "\n";
  if (r.exit_code == 0 && !::testing::Test::HasFailure()) std::filesystem::remove_all(dir_);
}

RunResult PgPair::stop_primary(StopMode mode) {
  return script({"stop-primary", dir_, mode == StopMode::fast ? "fast" : "immediate"});
}
RunResult PgPair::promote() { return script({"promote", dir_}); }
RunResult PgPair::rebuild() { return script({"rebuild", dir_}); }
RunResult PgPair::status() { return script({"status", dir_}); }

RunResult PgPair::script(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{source_dir() + "/scripts/pg-standby.sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {}, timeout);
}

}  // namespace beacon::test
