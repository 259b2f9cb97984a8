#pragma once
// A whole beacon fleet for one integration test: the real binaries
// (infer-sim, progress-writer, workers, producer) against the real RabbitMQ
// and Postgres the test command started (BEACON_AMQP_URL,
// BEACON_DATABASE_URL). Every test uses its own job ids and, where it
// needs isolation, its own region names, so tests do not see each other's
// queues.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "process.hpp"

#include "paths.hpp"  // build_dir(), source_dir()

namespace beacon::test {

// Fails the calling test (fatal) when the variable is missing: an
// integration test never passes without the real broker and database.
std::string require_env(const char* name);
std::string unique_suffix();

struct JobRow {
  std::string status;
  long total = 0, completed = 0, failed = 0, cancelled = 0, running = 0;
  double progress = 0;
  bool finished_at_set = false;
};

struct ExecCounts {
  long rows = 0, distinct_keys = 0, completed = 0, failed = 0, cancelled = 0, running = 0, pending = 0;
};

struct SubmitSummary {
  int exit_code = -1;
  std::string job_id;
  long total = -1, enqueued = -1, skipped = -1;
  std::string out, err;
};

class Fleet {
 public:
  explicit Fleet(const std::string& name);
  ~Fleet();

  const std::string& dir() const { return dir_; }
  std::map<std::string, std::string> env() const;  // what every child gets

  // beacon-infer-sim on an ephemeral port; returns its base URL (http://127.0.0.1:P).
  std::string start_sim(std::vector<std::string> extra_args = {});
  Process& sim() { return *sim_; }
  std::string sim_url() const { return sim_url_; }
  // Writes an endpoint file mapping every region (model "*") to the sim.
  std::string write_endpoints(const std::vector<std::string>& regions, const std::string& defaults_json = "{}");
  std::string write_file(const std::string& name, const std::string& text);

  Process& start_writer(std::vector<std::string> extra_args = {});
  // env_overrides replace entries of env() for this worker only (e.g. its own
  // BEACON_AMQP_URL through a TcpGate).
  Process& start_worker(const std::string& region, std::vector<std::string> extra_args = {},
                        const std::map<std::string, std::string>& env_overrides = {});
  std::vector<std::unique_ptr<Process>>& processes() { return procs_; }

  RunResult producer(std::vector<std::string> args, std::chrono::milliseconds timeout = std::chrono::seconds(300));
  SubmitSummary submit(const std::string& spec_json, const std::string& job_id);

  // Database reads (a fresh connection each call, like a user would).
  std::optional<JobRow> job(const std::string& job_id);
  ExecCounts executions(const std::string& job_id);
  // Waits until the job's status is terminal; false on timeout.
  bool wait_finished(const std::string& job_id, std::chrono::milliseconds timeout);

  // GET on the sim or a metrics endpoint; body or "" on failure.
  static std::string http_get(const std::string& host, int port, const std::string& target);
  static std::string http_post(const std::string& host, int port, const std::string& target, const std::string& body);
  // /stats "requests" and "duplicates"; a sim that does not answer FAILS the
  // calling test (ADD_FAILURE) and gives -1.
  long sim_requests();
  long sim_in_flight();  // requests the sim is answering now
  long sim_duplicates();
  // Everything the fleet's processes wrote, for failure messages.
  std::string logs_tail(std::size_t bytes_per_process = 3000) const;

 private:
  void delete_region_queues();
  std::string dir_;
  std::string amqp_url_, db_url_, endpoints_path_;
  std::string sim_url_;
  int sim_port_ = 0;
  std::unique_ptr<Process> sim_;
  std::vector<std::unique_ptr<Process>> procs_;
  int counter_ = 0;
  // Regions whose execution queue this fleet declared (a worker, a submit or
  // an endpoint file for it): deleted when the fleet ends, so quorum queues of
  // finished tests do not pile up in the broker.
  std::set<std::string> regions_;
  std::set<std::string> jobs_;  // submitted through submit(): their lanes are deleted with the queues
};

// A metric in Prometheus text with all its label sets summed; nullopt when
// the exposition has no sample of that name (absent is not 0).
std::optional<double> metric_value(const std::string& exposition, const std::string& name);

}  // namespace beacon::test
