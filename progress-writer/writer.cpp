#include "writer.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include <beacon/amqp/session_loop.hpp>
#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include <beacon/amqp/fresh_copy.hpp>
#include <beacon/amqp/topology.hpp>
#include <beacon/core/control_message.hpp>
#include <beacon/core/messages.hpp>
#include <beacon/core/stop_signal.hpp>
#include <beacon/db/timestamps.hpp>
#include <beacon/metrics/http_server.hpp>

#include "ack_window.hpp"
#include "batch_applier.hpp"
#include "writer_metrics.hpp"

namespace beacon {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A dead letter keeps at most this much of the original body.
constexpr std::size_t kDeadLetterBodyLimit = 64 * 1024;
// Events held for one batch, in bytes: a batch of huge answers (each up to
// kMaxEventBytes) is committed early rather than held all at once.
constexpr std::size_t kMaxBatchBytes = 64 << 20;
// How long the owner waits for the broker to confirm dead letters or fresh
// copies before it gives the connection up (the originals then come back).
constexpr auto kConfirmWait = std::chrono::seconds(30);
// After the drain deadline, how long the database thread may take to notice.
constexpr auto kApplierStopWait = milliseconds(1000);

// One event delivery held by this writer, unacked.
struct Held {
  amqp::Delivery delivery;
  ResultEvent event;
};

// A publish whose confirm lets the writer ack `tag` (a dead letter, or a
// fresh copy of the delivery put back at the tail of the queue).
struct Outgoing {
  std::uint64_t tag = 0;
  std::string exchange, routing_key;
  std::string body;
  amqp::PublishProps props;
  bool acks_delivery = true;  // false: a notice of the writer's own (a budget stop), no delivery behind it
};

class Writer {
 public:
  explicit Writer(const WriterOptions& o)
      : options_(o),
        client_(client_options(o)),
        delivery_limit_(amqp::topology_options_from_env().delivery_limit),
        applier_(o.database_url, outcomes_, m_) {}

  int run() {
    try {
      start_metrics();
    } catch (const std::exception& e) {
      spdlog::error("cannot serve metrics on {}: {}", options_.metrics_addr, e.what());
      return 2;
    }
    applier_.connect_soon();  // early, so /readyz tells the truth before the first batch
    amqp::SessionHooks hooks;
    hooks.connect = [this] { connect_broker(); };
    hooks.serve = [this] { consume_until_stopped(); };
    hooks.lost = [this](const std::string& why) { on_connection_lost(why); };
    hooks.drop_session = [this] { client_.close(); };
    hooks.wait_unless_stopped = [](milliseconds wait) { return amqp::sleep_unless(wait, [] { return stop_requested(); }); };
    hooks.redacted_url = [this] { return client_.redacted_url(); };
    hooks.who = "progress-writer";
    const auto end = amqp::run_session_loop(hooks);
    client_.close();
    applier_.stop(kApplierStopWait);
    if (end == amqp::SessionEnd::served)
      spdlog::info("stopped; every event committed and acknowledged, or put back in the queue");
    else
      spdlog::info("stopped while disconnected; unacked events stay queued");
    return 0;
  }

 private:
  // Unacked deliveries of the lost connection return to the queue by
  // themselves; whatever was committed but not acked is replayed and changes
  // nothing the second time.
  void on_connection_lost(const std::string& why) {
    if (broker_ready_) {
      m_.reconnects.inc();
      spdlog::warn("broker connection lost: {}", why);
    } else {
      m_.connect_failures.inc();
      spdlog::warn("broker unavailable: {}", why);
    }
    forget_held();
    broker_ready_ = false;
  }

  static amqp::ClientOptions client_options(const WriterOptions& o) {
    amqp::ClientOptions c;
    c.url = o.amqp_url;
    c.node_order = o.amqp_node_order;
    c.tls = o.amqp_tls;
    c.connection_name = "beacon-progress-writer";
    c.heartbeat_s = o.heartbeat_s;
    // Every event a worker may publish is taken whole (SPEC decisions: one bound end to end).
    c.max_body_bytes = kMaxEventBytes;
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
      if (!applier_.database_ready()) return metrics::Readiness{false, "database: not connected"};
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
    spdlog::info("consuming {} (batch {} events / {} ms)", std::string(amqp::kResultsQueue), options_.batch_max,
                 options_.batch_wait.count());
  }

  // The owner loop: this thread only talks to the broker; SQL runs on the
  // applier's thread, so heartbeats go on whatever the database does.
  void consume_until_stopped() {
    bool cancelled = false;
    Clock::time_point drain_deadline{};
    while (true) {
      if (stop_requested() && !cancelled) {
        // Stop taking new events; what is already here is committed, then acked.
        client_.cancel(consumer_tag_);
        cancelled = true;
        drain_deadline = stop_seen() + options_.drain_timeout;
        spdlog::info("stop requested: finishing {} buffered events", held_count());
      }
      client_.poll(held_count() == 0 ? milliseconds(100) : milliseconds(5));
      while (auto d = client_.take_delivery()) take(std::move(*d));
      for (auto& outcome : outcomes_.try_take_all()) settle(std::move(outcome));

      const bool due = held_count() > 0 && Clock::now() - oldest_ >= options_.batch_wait;
      const bool full = held_.size() >= options_.batch_max || held_bytes_ >= kMaxBatchBytes;
      // Poison and refreshes need no database: they go out on time whatever
      // the batch in the database is doing.
      if (due || full || cancelled) publish_then_ack(take_outgoing());
      if (!inflight_ && !held_.empty() && (due || full || cancelled)) start_batch();

      if (cancelled) {
        if (held_count() == 0 && !inflight_) return;
        if (Clock::now() >= drain_deadline) return hand_back();
      }
    }
  }

  std::size_t held_count() const { return held_.size() + dead_.size() + refresh_.size(); }

  void take(amqp::Delivery d) {
    m_.consumed.inc();
    acks_.received(d.tag);
    if (held_count() == 0) oldest_ = Clock::now();
    if (d.oversized) {
      auto reason = "oversized message (" + std::to_string(d.body_size) + " bytes)";
      return dead_.push_back(dead_letter(d, reason));
    }
    ResultEvent event;
    try {
      event = decode_event(d.body);
    } catch (const BadInput& e) {
      return dead_.push_back(dead_letter(d, e.what()));
    }
    if (amqp::needs_refresh(d, delivery_limit_)) {
      // A valid event that came back often (lost connections, restarts):
      // put a fresh copy at the tail before the broker's delivery limit,
      // which is for poison only, could dead-letter it.
      m_.refreshed.inc();
      return refresh_.push_back(fresh(d));
    }
    held_bytes_ += d.body.size();
    held_.push_back(Held{std::move(d), std::move(event)});
  }

  Outgoing dead_letter(const amqp::Delivery& d, const std::string& reason) {
    spdlog::error("dead-lettering result event {}: {}", d.message_id.empty() ? "(no id)" : d.message_id, reason);
    Outgoing o;
    o.tag = d.tag;
    o.exchange = std::string(amqp::kDeadExchange);
    o.body = d.body.substr(0, kDeadLetterBodyLimit);
    o.props.message_id = d.message_id;
    o.props.headers[std::string(amqp::kReasonHeader)] = reason;
    o.props.headers[std::string(amqp::kSourceQueueHeader)] = std::string(amqp::kResultsQueue);
    o.props.mandatory = false;
    return o;
  }

  static Outgoing fresh(const amqp::Delivery& d) {
    auto copy = amqp::fresh_copy(d, std::string(amqp::kResultsQueue));
    return Outgoing{d.tag, copy.exchange, copy.routing_key, d.body, copy.props};
  }

  std::vector<Outgoing> take_outgoing() {
    std::vector<Outgoing> out = std::move(dead_);
    dead_.clear();
    for (auto& r : refresh_) out.push_back(std::move(r));
    refresh_.clear();
    if (held_.empty()) oldest_ = Clock::now();
    return out;
  }

  void start_batch() {
    std::vector<ResultEvent> events;
    events.reserve(held_.size());
    for (const auto& h : held_) events.push_back(h.event);
    inflight_.emplace(Inflight{++batch_id_, client_.generation(), std::move(held_), Clock::now()});
    held_.clear();
    held_bytes_ = 0;
    oldest_ = Clock::now();
    applier_.submit(inflight_->id, std::move(events));
  }

  // The database thread answered for the batch in flight. SPEC invariant 3:
  // its deliveries are acked here, and only when the transaction committed.
  void settle(BatchOutcome outcome) {
    if (!inflight_ || inflight_->id != outcome.id) return;
    auto batch = std::move(*inflight_);
    inflight_.reset();
    if (!outcome.committed) {
      held_bytes_ = 0;  // given up (draining): the events go back with the rest
      for (auto& h : batch.events) held_bytes_ += h.delivery.body.size();
      for (auto& h : held_) batch.events.push_back(std::move(h));
      held_ = std::move(batch.events);
      return;
    }
    // Committed: a budget stop is in the database whatever happens to the tags.
    std::vector<Outgoing> out = budget_stop_notices(outcome.budget_stops);
    if (batch.generation != client_.generation()) {  // tags void; the broker redelivered them
      publish_then_ack(std::move(out));
      return;
    }
    m_.transitioned.inc(outcome.transitioned);
    m_.ignored.inc(outcome.ignored);
    m_.lag_seconds.observe(std::chrono::duration<double>(Clock::now() - batch.since).count());
    observe_visible(batch.events);
    std::vector<bool> not_acked(batch.events.size(), false);
    for (auto i : outcome.unknown) {
      const auto& e = batch.events[i].event;
      spdlog::error("event for an execution that was never registered: {} event={}", e.key.log_context(),
                    to_string(e.event));
      out.push_back(dead_letter(batch.events[i].delivery, "no execution registered for " + e.key.message_id()));
      not_acked[i] = true;
    }
    for (auto& [i, reason] : outcome.rejected) {
      out.push_back(dead_letter(batch.events[i].delivery, reason));
      not_acked[i] = true;
    }
    std::vector<std::uint64_t> committed;
    committed.reserve(batch.events.size());
    for (std::size_t i = 0; i < batch.events.size(); ++i)
      if (!not_acked[i]) committed.push_back(batch.events[i].delivery.tag);
    m_.acked.inc(committed.size());
    ack(std::move(committed));
    publish_then_ack(std::move(out));
  }

  // beacon_writer_completion_to_visible_seconds for the batch's terminal
  // events. A redelivered duplicate counts too, with its old completed_at:
  // rare, and it errs on the side of a longer lag.
  void observe_visible(const std::vector<Held>& events) {
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    for (const Held& h : events) {
      const ResultEvent& e = h.event;
      if (e.event != EventKind::completed && e.event != EventKind::failed) continue;
      const auto done_us = db::parse_rfc3339_us(e.completed_at);
      if (!done_us) continue;
      m_.visible_seconds.observe(std::max<std::int64_t>(0, now_us - *done_us) / 1e6);
    }
  }

  // The cancel the workers honour (control_message.hpp), for each job the
  // batch stopped at its budget: they drop its queued and waiting messages
  // without an endpoint call. The database already holds the stop, so a
  // notice lost with a crash costs at most the preflight's cache time
  // (workers find the job cancelled in Postgres).
  std::vector<Outgoing> budget_stop_notices(const std::vector<db::BudgetStop>& stops) {
    std::vector<Outgoing> out;
    for (const auto& s : stops) {
      m_.budget_stops.inc();
      spdlog::warn("job={} budget exhausted (spent ${:.6f}, {} tokens): stopped; {} pending executions cancelled, "
                   "workers told to drop the rest of submission {}",
                   s.job_id, s.cost_usd, s.tokens, s.cancelled, s.submission);
      Outgoing o;
      o.exchange = std::string(amqp::kControlExchange);
      o.body = encode(CancelNotice{s.job_id, s.submission, CancelReason::budget_exhausted});
      o.props.mandatory = false;  // no worker running is fine
      o.acks_delivery = false;
      out.push_back(std::move(o));
    }
    return out;
  }

  // Publishes each message, waits for the broker's confirms, and acks the
  // delivery of each one confirmed (a notice of the writer's own has none).
  // A refused one stays unacked: the broker hands it back when this
  // connection closes.
  void publish_then_ack(std::vector<Outgoing> out) {
    if (out.empty()) return;
    std::map<std::uint64_t, const Outgoing*> by_seq;
    for (const auto& o : out) by_seq[client_.publish(o.exchange, o.routing_key, o.body, o.props)] = &o;
    auto confirms = client_.wait_for_confirms(Clock::now() + kConfirmWait);
    std::size_t refused = 0;
    std::vector<std::uint64_t> confirmed;
    for (const auto& c : confirms) {
      auto it = by_seq.find(c.seq);
      if (it == by_seq.end()) continue;
      if (!c.ok) {
        ++refused;
        continue;
      }
      const Outgoing& o = *it->second;
      if (!o.acks_delivery) continue;
      confirmed.push_back(o.tag);
      m_.acked.inc();
      if (o.exchange == amqp::kDeadExchange) {
        m_.dead.inc();
      }
    }
    ack(std::move(confirmed));
    if (refused > 0) throw amqp::AmqpError("broker refused " + std::to_string(refused) + " publishes");
  }

  // The drain deadline passed with events the database did not take: they go
  // back to the queue as fresh copies (never a requeue: that would count
  // towards the delivery limit, which is for poison), then this writer exits.
  void hand_back() {
    applier_.give_up();
    std::vector<Outgoing> out = take_outgoing();
    auto give_back = [&](std::vector<Held>& events) {
      for (const auto& h : events) out.push_back(fresh(h.delivery));
      m_.requeued.inc(events.size());
    };
    give_back(held_);
    // The batch in the database may still commit after this: its copies then
    // replay harmlessly (every transition applies once).
    if (inflight_ && inflight_->generation == client_.generation()) give_back(inflight_->events);
    spdlog::warn("drain deadline reached with {} events the database did not take; putting them back in the queue",
                 out.size());
    held_.clear();
    inflight_.reset();
    publish_then_ack(std::move(out));
  }

  // Acks exactly these deliveries, in as few frames as the window allows.
  void ack(std::vector<std::uint64_t> tags) {
    for (const auto& f : acks_.acks_for(std::move(tags))) client_.ack(f.tag, f.multiple);
  }

  void forget_held() {
    acks_.forget_all();
    held_.clear();
    held_bytes_ = 0;
    dead_.clear();
    refresh_.clear();
    // A batch still in the database keeps its id: its outcome is dropped
    // when it comes (its tags died with the connection).
  }

  // When this writer first noticed SIGTERM/SIGINT.
  Clock::time_point stop_seen() {
    if (stop_seen_ == Clock::time_point{}) stop_seen_ = Clock::now();
    return stop_seen_;
  }

  struct Inflight {
    std::uint64_t id;
    std::uint64_t generation;  // the connection its tags belong to
    std::vector<Held> events;
    Clock::time_point since;
  };

  WriterOptions options_;
  WriterMetrics m_;
  amqp::Client client_;
  int delivery_limit_;
  Mailbox<BatchOutcome> outcomes_;
  BatchApplier applier_;
  std::string consumer_tag_;
  std::vector<Held> held_;
  std::size_t held_bytes_ = 0;
  writer::AckWindow acks_;  // every delivery tag this connection gave us and we have not acked
  std::vector<Outgoing> dead_;
  std::vector<Outgoing> refresh_;
  std::optional<Inflight> inflight_;
  std::uint64_t batch_id_ = 0;
  Clock::time_point oldest_{};
  Clock::time_point stop_seen_{};
  std::atomic<bool> broker_ready_{false};
  std::optional<metrics::MetricsServer> server_;
};

}  // namespace

int run_progress_writer(const WriterOptions& options) {
  Writer writer(options);
  return writer.run();
}

}  // namespace beacon
