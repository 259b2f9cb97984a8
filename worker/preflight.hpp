#pragma once
// Preflight: the "pay the GPU once" check. Before inference, a message that
// may already be done — a redelivery (the broker's `redelivered` flag), a
// re-submit (submission > 1), or a message of an earlier submit than the
// job's latest — is looked up in Postgres, read-only. A completed execution
// is acked without calling the endpoint; a job that was cancelled is
// dropped. Other first deliveries skip the execution lookup (they cannot be
// done yet) but still honour a cancelled job (job state cached 3 s).
//
// Runs on its own thread with its own connection so the thread that owns the
// AMQP connection never blocks on the database. When Postgres is unreachable
// the verdict is `run`: a possible duplicate call costs money, a stalled
// fleet costs more, and the progress-writer keeps the row exact either way.
//
// Reuse across jobs (reuse_lookup.hpp): a message that would run and carries
// the identity of its request (its job has "reuse": "completed") is looked up
// by request digest last; an earlier job's completed answer to the same
// request makes the verdict `reused`, with the answer to copy. A look-up that
// fails, or a database that is down, lets it run (pay).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <pqxx/connection>

#include <beacon/core/mailbox.hpp>
#include <beacon/core/messages.hpp>
#include <beacon/db/jobs_repo.hpp>

#include "execution_request.hpp"


namespace beacon {

enum class Verdict { run, already_completed, job_cancelled, reused };

// A first delivery of a copy (a re-submit, a stale message of an earlier
// submit, a producer's re-publish) whose execution is `running` has a twin
// being worked on by a live worker: it waits for that run's outcome,
// re-checking every kOtherRunRecheck, for at most kOtherRunWait, then runs.
inline constexpr std::chrono::milliseconds kOtherRunRecheck{500};
inline constexpr std::chrono::seconds kOtherRunWait{60};
// A redelivered message whose row is `running` was started by a worker that
// either died or only lost its broker connection (it keeps running its
// inferences and publishes their outcome on its next connection). The lease
// tells them apart (migration 0006): every worker heartbeats every
// kHeartbeatEvery; a row started by another worker whose heartbeat is younger
// than kLeaseExpiry is that worker's live run, and this one waits for its
// outcome (at most kLiveLeaseWait, a bound on one inference with its
// retries), re-checking every kOtherRunRecheck. A crashed worker's work runs
// elsewhere once its heartbeat is kLeaseExpiry old.
inline constexpr std::chrono::seconds kHeartbeatEvery{5};
inline constexpr std::chrono::seconds kLeaseExpiry{15};
inline constexpr std::chrono::seconds kLiveLeaseWait{600};

struct PreflightItem {
  std::uint64_t generation = 0;  // AMQP connection generation the tag belongs to
  std::uint64_t tag = 0;
  ExecutionMessage message;
  bool redelivered = false;
  Verdict verdict = Verdict::run;
  std::chrono::steady_clock::time_point waiting_since{};  // set while it waits for a twin's run
  std::optional<RequestIdentity> reuse_request{};  // set by the worker when the job reuses answers
  std::optional<ResultEvent> reused_event{};       // verdict reused: the completed event copied from it
};

class Preflight {
 public:
  // Empty database_url: no lookups, every verdict is `run`. worker_id and
  // region name this worker's heartbeat.
  Preflight(std::string database_url, std::string worker_id, std::string region, Mailbox<PreflightItem>& results);
  ~Preflight();
  void submit(PreflightItem item);
  void stop();

 private:
  // What decide() found: a verdict, or a run elsewhere to wait for (and how long at most).
  struct Decision {
    std::optional<Verdict> verdict;
    std::chrono::seconds wait_at_most{0};
    std::string waiting_for;
    bool live_lease = false;  // waiting for another worker's live run of a redelivered message
    static Decision now(Verdict v) { return Decision{v, std::chrono::seconds{0}, std::string(), false}; }
    static Decision wait(std::chrono::seconds at_most, std::string why, bool live_lease = false) {
      return Decision{std::nullopt, at_most, std::move(why), live_lease};
    }
  };
  void loop();
  Decision decide(const PreflightItem& item);
  Decision decide_running(const PreflightItem& item);
  // A `run` verdict of a message with reuse_request: `reused` when an earlier
  // job answered the same request (the copied event goes into the item).
  void reuse_if_answered(PreflightItem& item);
  // Writes this worker's heartbeat when it is due (and the database is there).
  void heartbeat_if_due();
  void forget_heartbeat();
  std::optional<db::JobState> job(const std::string& job_id);  // cached a few seconds
  bool ensure_connection();

  std::string database_url_;
  std::string worker_id_;
  std::string region_;
  Mailbox<PreflightItem>& results_;
  bool leases_ = false;  // migration 0006 applied (checked on each new connection)
  std::chrono::steady_clock::time_point next_heartbeat_{};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<PreflightItem> queue_;
  std::multimap<std::chrono::steady_clock::time_point, PreflightItem> rechecks_;  // by when to look again
  bool stopping_ = false;
  std::unique_ptr<pqxx::connection> db_;
  std::chrono::steady_clock::time_point db_retry_after_{};
  // job_id -> (state, when looked up); a few seconds stale at most.
  std::map<std::string, std::pair<std::optional<db::JobState>, std::chrono::steady_clock::time_point>> job_cache_;
  std::thread thread_;
};

}  // namespace beacon
