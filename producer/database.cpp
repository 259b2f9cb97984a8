#include "database.hpp"

#include <cstdio>

#include <beacon/core/cli.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/jobs_repo.hpp>

namespace beacon::producer {

std::unique_ptr<pqxx::connection> connect_database() {
  auto url = env_or("BEACON_DATABASE_URL", "");
  if (url.empty()) throw BadInput("BEACON_DATABASE_URL is not set");
  return db::connect(url);
}

bool job_exists(pqxx::connection& conn, const std::string& job_id, const char* command) {
  if (db::job_status(conn, job_id)) return true;
  std::fprintf(stderr, "beacon-producer %s: unknown job '%s'\n", command, job_id.c_str());
  return false;
}

}  // namespace beacon::producer
