#pragma once
// Worker leases (issue 8 item 8, migration 0006): a worker's heartbeat plus
// the `worker_id` its `started` event wrote on an execution row make a live
// lease on that row. Preflight (worker/preflight.hpp) reads it to tell "the
// worker running this is gone" from "its broker connection blipped".
#include <chrono>
#include <optional>
#include <string>

#include <pqxx/connection>

#include <beacon/core/messages.hpp>
#include <beacon/core/state_machine.hpp>

namespace beacon::db {

struct ExecutionLease {
  ExecStatus status = ExecStatus::pending;
  std::string worker_id;   // who last started it ("" if nobody has)
  bool holder_alive = false;  // that worker's heartbeat is younger than the expiry
};

// Whether migration 0006 is applied (a fleet upgraded before `migrate` runs
// keeps working without leases).
bool worker_leases_available(pqxx::connection& conn);
// This worker is alive now.
void heartbeat_worker(pqxx::connection& conn, const std::string& worker_id, const std::string& region);
// A worker that stops: its leases end now rather than at expiry.
void forget_worker(pqxx::connection& conn, const std::string& worker_id);
// nullopt: no such execution.
std::optional<ExecutionLease> execution_lease(pqxx::connection& conn, const ExecutionKey& key,
                                              std::chrono::seconds expiry);

}  // namespace beacon::db
