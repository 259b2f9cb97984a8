#pragma once
// Opening a Postgres connection, and the one error type that means "the
// database cannot be reached" (exit code 3 for the producer; reconnect and
// retry for the long-running parts). SQL errors stay pqxx::sql_error: they
// are bugs or bad data, and retrying them would not help.
#include <memory>
#include <stdexcept>
#include <string>

#include <pqxx/connection>

namespace beacon::db {

// Connect failure, a connection lost mid-transaction, or a commit whose
// outcome is unknown. In every case nothing the caller did is known to be
// committed, and doing it again is safe: every write in beacon/db is
// idempotent under replay. The connection it came from is unusable: connect()
// again before retrying.
class DatabaseUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ConnectOptions {
  std::string application_name = "beacon";  // shows in pg_stat_activity
  int connect_timeout_s = 10;               // libpq waits forever without one
};

// `url` (a postgresql:// URI or a "key=value ..." string; empty means libpq's
// environment defaults) with connect_timeout and application_name added when
// it does not set them itself. Throws BadInput for a string libpq cannot parse.
std::string with_connect_defaults(const std::string& url, const ConnectOptions& options = {});

// "user@host:port/dbname" for messages and logs: never the password.
std::string describe_target(const std::string& url);

// Opens a connection. Throws DatabaseUnavailable when the server cannot be
// reached or refuses us, BadInput when `url` does not parse.
std::unique_ptr<pqxx::connection> connect(const std::string& url, const ConnectOptions& options = {});

}  // namespace beacon::db
