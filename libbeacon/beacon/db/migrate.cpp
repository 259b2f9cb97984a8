#include <beacon/db/migrate.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <beacon/db/sql_queries.hpp>
#include <beacon/db/transaction.hpp>

namespace beacon::db {
namespace fs = std::filesystem;
namespace {

// Key of the advisory lock every migrator takes ("beaconmg"). Advisory locks
// are per database, so migrators of different schemas queue too; harmless.
constexpr long long kMigrationLockKey = 0x626561636f6e6d67LL;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read migration " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

}  // namespace

std::vector<fs::path> list_migrations(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw std::runtime_error("migrations directory not found: " + dir.string());
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".sql") files.push_back(entry.path());
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  return files;
}

int apply_migrations(pqxx::connection& conn, const fs::path& dir) {
  int applied = 0;
  for (const auto& file : list_migrations(dir)) {
    const std::string version = file.stem().string();
    const std::string text = read_file(file);
    const bool done = transact(conn, [&](pqxx::work& w) {
      // Quiet NOTICEs ("already exists, skipping"): pqxx prints them to stderr.
      w.exec("SET LOCAL client_min_messages = warning");
      w.exec_params(std::string(sql::migration_lock), kMigrationLockKey);
      // Created under the lock: CREATE TABLE IF NOT EXISTS races otherwise.
      w.exec(std::string(sql::migration_table));
      if (!w.exec_params(std::string(sql::migration_applied), version).empty()) return false;
      w.exec(text);
      w.exec_params(std::string(sql::migration_record), version);
      return true;
    });
    if (done) ++applied;
  }
  return applied;
}

fs::path default_migrations_dir() {
  // An explicit setting wins even when wrong: apply_migrations then says so,
  // instead of silently migrating from somewhere else.
  if (const char* env = std::getenv("BEACON_MIGRATIONS_DIR"); env != nullptr && *env != '\0') return env;
  std::vector<fs::path> candidates;
  if (fs::path exe = executable_dir(); !exe.empty()) {
    candidates.push_back(exe / ".." / "migrations");
    candidates.push_back(exe / ".." / "share" / "beacon" / "migrations");
  }
#ifdef BEACON_MIGRATIONS_SOURCE_DIR
  candidates.emplace_back(BEACON_MIGRATIONS_SOURCE_DIR);
#endif
  std::string looked;
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_directory(c, ec)) return c.lexically_normal();
    looked += (looked.empty() ? "" : ", ") + c.string();
  }
  throw std::runtime_error("no migrations directory found (looked in: " + looked +
                           "); set BEACON_MIGRATIONS_DIR");
}

}  // namespace beacon::db
