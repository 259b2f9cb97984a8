#include "writer.hpp"

#include <optional>
#include <thread>
#include <vector>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <beacon/amqp/backoff.hpp>
#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include <beacon/amqp/topology.hpp>
#include <beacon/core/messages.hpp>
#include <beacon/core/stop_signal.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/progress_store.hpp>
#include <beacon/metrics/http_server.hpp>

namespace beacon {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A dead letter keeps at most this much of the original body.
constexpr std::size_t kDeadLetterBodyLimit = 64 * 1024;

struct Metrics {
  metrics::Registry& r = metrics::default_registry();
  metrics::Counter& consumed = r.counter("beacon_writer_events_consumed_total", "Result events received");
  metrics::Counter& transitioned = r.counter("beacon_writer_events_applied_total", "Events that changed an execution");
  metrics::Counter& ignored = r.counter("beacon_writer_events_ignored_total", "Events that changed nothing: duplicates, late events, or a started event superseded by its terminal event in the same batch");
  metrics::Counter& dead = r.counter("beacon_writer_dead_lettered_total", "Events sent to beacon.dead");
  metrics::Counter& acked = r.counter("beacon_writer_events_acked_total", "Events acknowledged after commit");
  metrics::Counter& db_errors = r.counter("beacon_writer_db_errors_total", "Failed batch transactions (retried)");
  metrics::Counter& reconnects = r.counter("beacon_writer_broker_reconnects_total", "Broker connections lost");
  metrics::Counter& connect_failures = r.counter("beacon_writer_broker_connect_failures_total",
                                                 "Failed attempts to (re)connect to the broker");
  metrics::Histogram& batch_size = r.histogram("beacon_writer_batch_size", "Events per committed batch", {},
                                               {1, 5, 10, 50, 100, 250, 500, 1000, 5000});
  metrics::Histogram& commit_seconds = r.histogram("beacon_writer_commit_seconds", "Time to apply and commit one batch");
  metrics::Histogram& lag_seconds = r.histogram("beacon_writer_event_lag_seconds", "From an event's completion to its commit");
};

// SQLSTATE classes of an error in the data of an event (22 data exception,
// 23 integrity constraint, 54 program limit): that event can be isolated and
// dead-lettered. Any other error would hit every batch alike.
bool rejects_data(const pqxx::sql_error& e) {
  const std::string cls = e.sqlstate().substr(0, 2);
  return cls == "22" || cls == "23" || cls == "54";
}

struct DeadLetter {
  std::uint64_t tag;
  std::string body;
  std::string reason;
  std::string message_id;
};

class Writer {
 public:
  explicit Writer(const WriterOptions& o) : options_(o), client_(client_options(o)) {}

  int run() {
    try {
      start_metrics();
    } catch (const std::exception& e) {
      spdlog::error("cannot serve metrics on {}: {}", options_.metrics_addr, e.what());
      return 2;
    }
    amqp::Backoff backoff(amqp::BackoffOptions{milliseconds(200), milliseconds(10000)});
    while (true) {
      try {
        connect_broker();
        backoff.reset();
        consume_until_stopped();
        client_.close();
        spdlog::info("stopped; all committed events acknowledged");
        return 0;
      } catch (const amqp::AmqpError& e) {
        // Unacked deliveries of the lost connection return to the queue by
        // themselves; whatever was committed but not acked is replayed and
        // changes nothing the second time.
        if (broker_ready_) {
          m_.reconnects.inc();
          spdlog::warn("broker connection lost: {}", e.what());
        } else {
          m_.connect_failures.inc();
          spdlog::warn("broker unavailable: {}", e.what());
        }
        discard_batch();
        broker_ready_ = false;
        auto wait = backoff.next();
        spdlog::warn("reconnecting to the broker {} in {} ms (attempt {}, ceiling {} ms)", client_.redacted_url(),
                     wait.count(), backoff.attempts(), backoff.ceiling().count());
        if (sleep_unless_stopped(wait)) {
          spdlog::info("stopped while disconnected; unacked events stay queued");
          return 0;
        }
      }
    }
  }

 private:
  static amqp::ClientOptions client_options(const WriterOptions& o) {
    amqp::ClientOptions c;
    c.url = o.amqp_url;
    c.connection_name = "beacon-progress-writer";
    c.heartbeat_s = o.heartbeat_s;
    return c;
  }

  void start_metrics() {
    if (options_.metrics_addr.empty()) return;
    auto hp = metrics::parse_host_port(options_.metrics_addr);
    metrics::MetricsServerOptions mo;
    mo.host = hp.host;
    mo.port = hp.port;
    server_.emplace(metrics::default_registry(), mo, [this] {
      if (!broker_ready_) return metrics::Readiness{false, "broker: not connected"};
      if (!db_ready_) return metrics::Readiness{false, "database: not connected"};
      return metrics::Readiness{true, ""};
    });
    server_->start();
    spdlog::info("metrics on {}", server_->address());
  }

  void connect_broker() {
    client_.connect();
    auto topo = amqp::topology_options_from_env();
    amqp::declare_core(client_, topo);
    client_.set_prefetch(static_cast<std::uint16_t>(std::min<std::size_t>(options_.batch_max * 2, 65535)));
    consumer_tag_ = client_.consume(std::string(amqp::kResultsQueue));
    broker_ready_ = true;
    connect_database();  // early, so /readyz tells the truth before the first batch
    spdlog::info("consuming {} (batch {} events / {} ms)", std::string(amqp::kResultsQueue), options_.batch_max,
                 options_.batch_wait.count());
  }

  void consume_until_stopped() {
    bool cancelled = false;
    Clock::time_point drain_deadline{};
    while (true) {
      if (stop_requested() && !cancelled) {
        // Stop taking new events; what is already here is committed, then acked.
        client_.cancel(consumer_tag_);
        cancelled = true;
        drain_deadline = stop_seen() + options_.drain_timeout;
        spdlog::info("stop requested: finishing {} buffered events", events_.size() + dead_.size());
      }
      client_.poll(events_.empty() ? milliseconds(100) : milliseconds(5));
      while (auto d = client_.take_delivery()) take(*d);
      bool full = events_.size() + dead_.size() >= options_.batch_max;
      bool due = !events_.empty() && Clock::now() - oldest_ >= options_.batch_wait;
      if (full || due || (cancelled && (!events_.empty() || !dead_.empty()))) {
        if (!flush(cancelled ? drain_deadline : Clock::time_point::max())) return;  // drain deadline passed
      }
      if (cancelled && events_.empty() && dead_.empty()) return;
    }
  }

  void take(const amqp::Delivery& d) {
    m_.consumed.inc();
    if (events_.empty() && dead_.empty()) oldest_ = Clock::now();
    if (d.oversized) {
      dead_.push_back({d.tag, d.body.substr(0, kDeadLetterBodyLimit),
                       "oversized message (" + std::to_string(d.body_size) + " bytes)", d.message_id});
      return;
    }
    try {
      events_.push_back(decode_event(d.body));
      tags_.push_back(d.tag);
      ids_.push_back(d.message_id);
    } catch (const BadInput& e) {
      dead_.push_back({d.tag, d.body.substr(0, kDeadLetterBodyLimit), e.what(), d.message_id});
    }
  }

  // Applies the batch; returns false when the drain deadline passed before
  // the database answered (nothing acked: the broker redelivers it).
  bool flush(Clock::time_point deadline) {
    dead_letter_malformed();
    if (!events_.empty()) {
      auto result = apply_with_retry(deadline);
      if (!result) return false;
      for (auto i : result->unknown) {
        const auto& e = events_[i];
        spdlog::error("event for an execution that was never registered: {} event={}", e.key.log_context(),
                      to_string(e.event));
        dead_.push_back({tags_[i], encode(e), "no execution registered for " + e.key.message_id(), ids_[i]});
      }
      dead_letter_malformed();
      std::vector<bool> is_unknown(events_.size(), false);
      for (auto i : result->unknown) is_unknown[i] = true;  // those were acked with their dead letter
      for (std::size_t i = 0; i < tags_.size(); ++i)
        if (!is_unknown[i]) client_.ack(tags_[i]);
      m_.acked.inc(tags_.size() - result->unknown.size());
    }
    events_.clear();
    tags_.clear();
    ids_.clear();
    return true;
  }

  std::optional<db::ApplyResult> apply_with_retry(Clock::time_point deadline) {
    amqp::Backoff backoff(amqp::BackoffOptions{milliseconds(200), milliseconds(5000)});
    while (true) {
      try {
        if (!db_) connect_database_or_throw();
        auto started = Clock::now();
        auto result = db::apply_events(*db_, events_);
        auto seconds = std::chrono::duration<double>(Clock::now() - started).count();
        m_.commit_seconds.observe(seconds);
        m_.batch_size.observe(static_cast<double>(events_.size()));
        m_.transitioned.inc(result.transitioned);
        m_.ignored.inc(result.ignored);
        observe_lag();
        spdlog::debug("batch of {} events committed in {:.1f} ms ({} transitions)", events_.size(), seconds * 1000,
                      result.transitioned);
        return result;
      } catch (const db::DatabaseUnavailable& e) {
        drop_database();
        m_.db_errors.inc();
        spdlog::warn("database unavailable ({}); batch of {} events kept unacked, retrying", e.what(), events_.size());
      } catch (const pqxx::broken_connection& e) {
        drop_database();
        m_.db_errors.inc();
        spdlog::warn("database connection broken ({}); batch of {} events kept unacked, retrying", e.what(),
                     events_.size());
      } catch (const pqxx::sql_error& e) {
        m_.db_errors.inc();
        if (!rejects_data(e)) {
          // Schema missing, permissions, a bug: every batch would fail the
          // same way, and dead-lettering them all would scatter good events.
          // Keep the batch, retry, and say so loudly.
          spdlog::error("database refused a batch of {} events ({}, SQLSTATE {}); kept unacked, retrying",
                        events_.size(), e.what(), e.sqlstate());
          drop_database();
        } else {
          // Not an outage (db::transact turns those into DatabaseUnavailable):
          // some event's data the database refuses. Find the culprit one
          // event at a time so the rest still lands.
          spdlog::error("batch of {} events rejected by the database ({}); applying one by one", events_.size(),
                        e.what());
          try {
            return apply_one_by_one();
          } catch (const db::DatabaseUnavailable& e2) {
            drop_database();
            m_.db_errors.inc();
            spdlog::warn("database unavailable while isolating a bad event ({}); batch of {} events kept unacked, "
                         "retrying", e2.what(), events_.size());
          }
        }
      }
      auto wait = backoff.next();
      if (stop_requested()) deadline = std::min(deadline, stop_seen() + options_.drain_timeout);
      if (Clock::now() + wait > deadline) {
        spdlog::warn("drain deadline reached with the database unavailable; {} events stay queued", events_.size());
        return std::nullopt;
      }
      // Keep servicing the broker (heartbeats) while waiting for Postgres.
      auto until = Clock::now() + wait;
      while (Clock::now() < until) client_.poll(milliseconds(50));
    }
  }

  // Each event in its own transaction. Throws DatabaseUnavailable with the
  // batch untouched (events applied so far are replayed harmlessly).
  db::ApplyResult apply_one_by_one() {
    db::ApplyResult total;
    std::vector<ResultEvent> kept;
    std::vector<std::uint64_t> kept_tags;
    std::vector<std::string> kept_ids;
    std::vector<DeadLetter> rejected;
    for (std::size_t i = 0; i < events_.size(); ++i) {
      try {
        auto r = db::apply_events(*db_, {events_[i]});
        total.transitioned += r.transitioned;
        total.ignored += r.ignored;
        if (!r.unknown.empty()) total.unknown.push_back(kept.size());
        kept.push_back(events_[i]);
        kept_tags.push_back(tags_[i]);
        kept_ids.push_back(ids_[i]);
      } catch (const pqxx::broken_connection& e) {
        throw db::DatabaseUnavailable(std::string("connection lost while isolating a bad event: ") + e.what());
      } catch (const pqxx::sql_error& e) {
        if (!rejects_data(e))
          throw db::DatabaseUnavailable(std::string("database refused an event for a reason not in its data (SQLSTATE ") +
                                        e.sqlstate() + "): " + e.what());
        spdlog::error("event rejected by the database: {} event={} ({})", events_[i].key.log_context(),
                      to_string(events_[i].event), e.what());
        rejected.push_back(
            {tags_[i], encode(events_[i]), std::string("database rejected the event: ") + e.what(), ids_[i]});
      }
    }
    events_ = std::move(kept);
    tags_ = std::move(kept_tags);
    ids_ = std::move(kept_ids);
    for (auto& d : rejected) dead_.push_back(std::move(d));
    return total;
  }

  // Publishes each malformed message to beacon.dead with its reason, and acks
  // the original only once the broker confirmed the dead letter.
  void dead_letter_malformed() {
    if (dead_.empty()) return;
    std::vector<std::uint64_t> seqs;
    for (const auto& d : dead_) {
      spdlog::error("dead-lettering result event {}: {}", d.message_id.empty() ? "(no id)" : d.message_id, d.reason);
      amqp::PublishProps props;
      props.message_id = d.message_id;
      props.headers[std::string(amqp::kReasonHeader)] = d.reason;
      props.headers[std::string(amqp::kSourceQueueHeader)] = std::string(amqp::kResultsQueue);
      props.mandatory = false;
      seqs.push_back(client_.publish(std::string(amqp::kDeadExchange), "", d.body, props));
    }
    auto confirms = client_.wait_for_confirms(Clock::now() + std::chrono::seconds(30));
    std::size_t failed = 0;
    for (const auto& c : confirms) failed += c.ok ? 0 : 1;
    if (failed > 0) throw amqp::AmqpError("broker refused " + std::to_string(failed) + " dead letters");
    for (const auto& d : dead_) client_.ack(d.tag);
    m_.dead.inc(dead_.size());
    m_.acked.inc(dead_.size());
    dead_.clear();
  }

  void observe_lag() {
    // completed_at is RFC 3339; parsing it costs more than it tells here, so
    // lag is measured from when the event reached this writer.
    m_.lag_seconds.observe(std::chrono::duration<double>(Clock::now() - oldest_).count());
  }

  void connect_database_or_throw() {
    db_ = db::connect(options_.database_url);
    db_ready_ = true;
  }

  void connect_database() {
    if (db_) return;
    try {
      connect_database_or_throw();
    } catch (const db::DatabaseUnavailable& e) {
      spdlog::warn("database unavailable at start ({}); will retry with the first batch", e.what());
    }
  }

  void drop_database() {
    db_.reset();
    db_ready_ = false;
  }

  // When this writer first noticed SIGTERM/SIGINT.
  Clock::time_point stop_seen() {
    if (stop_seen_ == Clock::time_point{}) stop_seen_ = Clock::now();
    return stop_seen_;
  }

  void discard_batch() {
    events_.clear();
    tags_.clear();
    ids_.clear();
    dead_.clear();
  }

  static bool sleep_unless_stopped(milliseconds wait) {
    auto until = Clock::now() + wait;
    while (Clock::now() < until) {
      if (stop_requested()) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return stop_requested();
  }

  WriterOptions options_;
  amqp::Client client_;
  std::unique_ptr<pqxx::connection> db_;
  std::string consumer_tag_;
  std::vector<ResultEvent> events_;
  std::vector<std::uint64_t> tags_;
  std::vector<std::string> ids_;  // message_id of each event, for dead letters
  std::vector<DeadLetter> dead_;
  Clock::time_point oldest_{};
  Clock::time_point stop_seen_{};
  std::atomic<bool> broker_ready_{false};
  std::atomic<bool> db_ready_{false};
  Metrics m_;
  std::optional<metrics::MetricsServer> server_;
};

}  // namespace

int run_progress_writer(const WriterOptions& options) {
  Writer writer(options);
  return writer.run();
}

}  // namespace beacon
