#include <cstdio>
#include <iostream>

#include <beacon/core/cli.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/migrate.hpp>

#include "commands.hpp"
#include "database.hpp"

namespace beacon::producer {

int migrate(int argc, char** argv) {
  CliArgs args(argc, argv, 2, {"--dir"}, {"--help"});
  if (args.has("--help")) {
    std::cout << "usage: beacon-producer migrate [--dir DIR]\n"
                 "Applies the numbered .sql files of DIR (default: the project's migrations/) in order,\n"
                 "each once, under an advisory lock; safe to run twice at once.\n";
    return kExitOk;
  }
  auto dir = args.get("--dir") ? std::filesystem::path(*args.get("--dir")) : db::default_migrations_dir();
  auto conn = connect_database();
  int applied = db::apply_migrations(*conn, dir);
  std::printf("migrations: %d applied from %s\n", applied, dir.c_str());
  return kExitOk;
}

}  // namespace beacon::producer
