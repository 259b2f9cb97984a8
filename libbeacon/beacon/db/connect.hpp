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

// Every connection gets deadlines, because a frozen or partitioned database
// must never hold a part forever: a connect timeout, TCP keepalives and a TCP
// user timeout (a dead peer or a write that cannot complete ends the call),
// and, for the long-running parts, a statement and a lock timeout enforced by
// the server. A URL that sets one of these itself keeps its own value.
struct ConnectOptions {
  std::string application_name = "beacon";  // shows in pg_stat_activity
  int connect_timeout_s = 10;               // libpq waits forever without one
  int keepalive_idle_s = 10;                // then probes every keepalive_interval_s,
  int keepalive_interval_s = 5;             //   keepalive_count unanswered ones end it
  int keepalive_count = 3;
  int tcp_user_timeout_ms = 30000;          // unacknowledged data this long ends it
  int statement_timeout_ms = 0;             // 0: none (the producer's bulk registration)
  int lock_timeout_ms = 0;                  // 0: none
};

// `url` (a postgresql:// URI or a "key=value ..." string, either of which may
// name several hosts for failover; empty means libpq's environment defaults)
// with the options above added where it does not set them itself; a URL with
// several hosts also gets target_session_attrs=read-write (the primary,
// whichever host it is now). Throws BadInput for a string libpq cannot parse.
std::string with_connect_defaults(const std::string& url, const ConnectOptions& options = {});

// "user@host:port/dbname" for messages and logs: never the password. A
// multi-host URL lists every host with its port: "user@h1:5432,h2:5433/dbname".
std::string describe_target(const std::string& url);

// Opens a connection. Throws DatabaseUnavailable when the server cannot be
// reached or refuses us, BadInput when `url` does not parse.
std::unique_ptr<pqxx::connection> connect(const std::string& url, const ConnectOptions& options = {});

}  // namespace beacon::db
