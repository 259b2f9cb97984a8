#pragma once
// A private Postgres primary with a synchronous streaming standby for one
// test (issue 12), run by scripts/pg-standby.sh under a folder of its own in
// the temp directory: started in the constructor, stopped in the destructor
// (the folder is kept when the test failed, for its logs). The database URL is
// the multi-host one a user would give beacon; it never changes across a
// failover.
#include <chrono>
#include <string>

#include "process.hpp"

namespace beacon::test {

enum class StopMode { fast, immediate };

class PgPair {
 public:
  // Runs `pg-standby.sh start DIR`; FAILS the calling test (and throws) when it does not come up.
  explicit PgPair(const std::string& name);
  ~PgPair();
  PgPair(const PgPair&) = delete;
  PgPair& operator=(const PgPair&) = delete;

  // postgresql://beacon:beacon@127.0.0.1:P1,127.0.0.1:P2/beacon?target_session_attrs=read-write
  const std::string& url() const { return url_; }

  // Each runs one pg-standby.sh command; the result says how it went.
  RunResult stop_primary(StopMode mode);
  RunResult promote();
  RunResult rebuild();  // the stopped old primary becomes the new primary's synchronous standby
  RunResult status();

 private:
  RunResult script(const std::vector<std::string>& args,
                   std::chrono::milliseconds timeout = std::chrono::seconds(180));
  std::string dir_;
  std::string url_;
};

}  // namespace beacon::test
