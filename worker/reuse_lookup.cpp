#include "reuse_lookup.hpp"

#include <spdlog/spdlog.h>

#include <beacon/metrics/registry.hpp>

namespace beacon {
namespace {

metrics::Counter& lookup_errors() {
  static auto& c = metrics::default_registry().counter(
      "beacon_worker_reuse_lookup_errors_total",
      "Reuse look-ups that failed (the execution paid for its own answer instead)");
  return c;
}

}  // namespace

ReuseLookup look_up_reuse(pqxx::connection& db, const ExecutionKey& key, const std::string& digest) {
  lookup_errors();  // registered with the first look-up, so /metrics shows 0
  try {
    auto answer = db::find_reusable_answer(db, digest, key.job_id);
    if (!answer) return ReuseLookup{ReuseLookupOutcome::none, std::nullopt};
    return ReuseLookup{ReuseLookupOutcome::found, std::move(answer)};
  } catch (const std::exception& e) {
    lookup_errors().inc();
    spdlog::warn("{}: reuse look-up failed ({}); paying for its own answer", key.log_context(), e.what());
    return ReuseLookup{ReuseLookupOutcome::failed, std::nullopt};
  }
}

ResultEvent reused_completed_event(const ExecutionMessage& msg, const db::ReusableAnswer& answer,
                                   const RequestIdentity& request, const std::string& worker_id,
                                   const std::string& now_rfc3339) {
  ResultEvent e;
  e.event = EventKind::completed;
  e.key = msg.key;
  e.worker_id = worker_id;
  e.attempt = 1;
  e.submission = msg.submission;
  e.started_at = now_rfc3339;
  e.completed_at = now_rfc3339;
  e.output = answer.output;
  e.cost_usd = 0.0;
  e.seed = request.seed;
  e.request_digest = request.digest;
  e.reused_from = answer.source;
  return e;
}

}  // namespace beacon
