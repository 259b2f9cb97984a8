#pragma once
// What every database-reading subcommand starts with: the connection from
// BEACON_DATABASE_URL, and the "unknown job" check that makes it exit 2.
#include <memory>
#include <string>

#include <pqxx/connection>

namespace beacon::producer {

// Throws BadInput when BEACON_DATABASE_URL is unset, db::DatabaseUnavailable
// when it cannot connect (main turns these into exit codes 2 and 3).
std::unique_ptr<pqxx::connection> connect_database();

// True when the job exists; otherwise says so on stderr for `command`.
bool job_exists(pqxx::connection& conn, const std::string& job_id, const char* command);

}  // namespace beacon::producer
