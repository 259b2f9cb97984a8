#include "worker.hpp"

#include <deque>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <beacon/amqp/backoff.hpp>
#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include <beacon/amqp/topology.hpp>
#include <beacon/core/clock.hpp>
#include <beacon/core/json.hpp>
#include <beacon/core/mailbox.hpp>
#include <beacon/core/messages.hpp>
#include <beacon/core/prompt.hpp>
#include <beacon/core/stop_signal.hpp>
#include <beacon/infer/inference_client.hpp>
#include <beacon/metrics/http_server.hpp>

#include "endpoint_metrics.hpp"
#include "preflight.hpp"

namespace beacon {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kDeadLetterBodyLimit = 64 * 1024;
constexpr int kMaxPublishTries = 5;
// After the drain deadline, aborted requests requeue at once; this is the
// most the worker then waits for the broker before it closes anyway (the
// broker requeues whatever is still unacked when the connection closes).
constexpr auto kDrainGrace = std::chrono::seconds(10);
// A cancel broadcast is trusted this long; after that the database (through
// the preflight) decides, so a re-submitted job runs again.
constexpr auto kCancelMemory = std::chrono::seconds(10);
// Outcomes remembered to answer a redelivery without a second inference.
constexpr std::size_t kRecentOutcomes = 100000;
constexpr auto kStatsRefresh = std::chrono::seconds(1);

// One inference that finished (or was aborted) on the Asio thread.
struct Completion {
  std::string slot;
  infer::InferenceOutcome outcome;
};

// One execution this worker is working on: the deliveries waiting for its
// outcome (tags of the current connection only) and how far it got.
// Several deliveries of one execution share a slot: a message redelivered
// after a reconnect while its inference still runs, or a duplicate the
// producer published, waits for the one inference instead of paying again.
// A delivery of the same execution from another submission (a re-submit
// while the first still runs, or a late copy of the first) waits for the
// running slot: a completed outcome answers it too; any other outcome hands
// it to the normal path (preflight, then inference if still needed).
struct Parked {
  std::uint64_t tag = 0;
  ExecutionMessage message;
  bool redelivered = false;
};

struct Slot {
  enum class Phase { preflight, inference, publishing };
  ExecutionMessage message;
  std::vector<std::uint64_t> tags;
  std::vector<Parked> parked;
  Phase phase = Phase::preflight;
  std::string started_at;
};

// How a slot ends for the deliveries waiting on it.
enum class Settle { completed, other_outcome, requeue };

// A publish waiting for its confirm, and what to do then.
struct AwaitingConfirm {
  enum class Kind { started, terminal, dead_letter };
  Kind kind = Kind::started;
  std::string slot;             // terminal: whose deliveries to ack on confirm
  bool completed = false;       // terminal: the outcome is `completed`
  std::uint64_t generation = 0; // dead_letter: connection the tag belongs to
  std::uint64_t tag = 0;        // dead_letter: the malformed delivery
  std::string exchange, routing_key, body, message_id;
  std::map<std::string, std::string> headers;
  int tries = 1;
  std::string what;             // for logs
};

// Outcomes whose terminal event the broker confirmed, by message id: a
// delivery of the same execution and submission (or any submission, once
// completed) is acked without inference. Bounded, oldest forgotten first.
class RecentOutcomes {
 public:
  void record(const std::string& id, int submission, bool completed) {
    auto [it, fresh] = map_.try_emplace(id, Entry{submission, completed});
    if (!fresh) {
      it->second.submission = std::max(it->second.submission, submission);
      it->second.completed = it->second.completed || completed;
      return;
    }
    order_.push_back(id);
    if (order_.size() > kRecentOutcomes) {
      map_.erase(order_.front());
      order_.pop_front();
    }
  }
  bool answers(const ExecutionMessage& m) const {
    auto it = map_.find(m.key.message_id());
    return it != map_.end() && (it->second.completed || m.submission <= it->second.submission);
  }

 private:
  struct Entry {
    int submission;
    bool completed;
  };
  std::unordered_map<std::string, Entry> map_;
  std::deque<std::string> order_;
};

struct Metrics {
  explicit Metrics(const std::string& region) : q({{"region", region}}) {}
  metrics::Labels q;
  metrics::Registry& r = metrics::default_registry();
  metrics::Counter& consumed = r.counter("beacon_worker_messages_consumed_total", "Execution messages received", q);
  metrics::Counter& acked = r.counter("beacon_worker_messages_acked_total", "Execution messages acknowledged", q);
  metrics::Counter& requeued = r.counter("beacon_worker_messages_requeued_total", "Messages handed back to the queue", q);
  metrics::Counter& dead = r.counter("beacon_worker_messages_dead_lettered_total", "Malformed messages sent to beacon.dead", q);
  metrics::Counter& skipped = r.counter("beacon_worker_skipped_already_completed_total",
                                        "Redelivered messages acked without inference (already completed)", q);
  metrics::Counter& absorbed = r.counter(
      "beacon_worker_duplicates_absorbed_total",
      "Duplicate or redelivered messages answered by this worker's own running or recent inference", q);
  metrics::Counter& cancelled = r.counter("beacon_worker_cancelled_total", "Messages dropped for a cancelled job", q);
  metrics::Counter& completed = r.counter("beacon_worker_executions_completed_total", "Completed executions", q);
  metrics::Counter& failed = r.counter("beacon_worker_executions_failed_total", "Failed executions", q);
  metrics::Counter& reconnects = r.counter("beacon_worker_broker_reconnects_total", "Broker connections lost", q);
  metrics::Counter& connect_failures = r.counter("beacon_worker_broker_connect_failures_total",
                                                 "Failed attempts to (re)connect to the broker", q);
  metrics::Counter& publish_refused = r.counter("beacon_worker_publish_refused_total",
                                                "Publishes the broker nacked or returned", q);
  metrics::Counter& control_errors = r.counter("beacon_worker_bad_control_messages_total",
                                               "Malformed control messages ignored", q);
  metrics::Gauge& in_flight = r.gauge("beacon_worker_in_flight", "Messages held, not yet acknowledged", q);
  metrics::Gauge& connected = r.gauge("beacon_worker_broker_connected", "1 while connected to the broker", q);
};

std::string job_of_control_message(const std::string& body) {
  auto doc = json::parse(body);
  json::require_object(doc, "control message");
  if (json::get_string(doc, "type") != "cancel") throw BadInput("unknown control message type");
  return json::get_string(doc, "job_id");
}

// Slot id: one execution in one submission (a re-submit runs again when
// the execution is not completed, so it gets its own slot).
std::string slot_id(const ExecutionMessage& m) {
  return m.key.message_id() + "#" + std::to_string(m.submission);
}

class Worker {
 public:
  Worker(const WorkerOptions& o, infer::EndpointTable endpoints)
      : o_(o),
        client_(client_options(o)),
        work_(io_.get_executor()),
        endpoints_(std::move(endpoints)),
        inference_(io_, endpoints_),
        preflight_(o.database_url, preflight_results_),
        m_(o.region),
        endpoint_metrics_(metrics::default_registry()) {
    exec_queue_ = amqp::exec_queue(o.region);
    inference_.set_attempt_observer([this](const infer::AttemptEvent& e) { endpoint_metrics_.observe(e); });
  }

  int run() {
    try {
      start_metrics();
    } catch (const std::exception& e) {
      spdlog::error("cannot serve metrics on {}: {}", o_.metrics_addr, e.what());
      return 2;
    }
    io_thread_ = std::thread([this] { io_.run(); });
    amqp::Backoff backoff(amqp::BackoffOptions{milliseconds(200), milliseconds(10000)});
    while (true) {
      try {
        connect_broker();
        backoff.reset();
        serve();
        break;
      } catch (const amqp::AmqpError& e) {
        on_connection_lost(e.what());
        auto wait = backoff.next();
        spdlog::warn("reconnecting to the broker {} in {} ms (attempt {}, ceiling {} ms)", client_.redacted_url(),
                     wait.count(), backoff.attempts(), backoff.ceiling().count());
        if (!wait_for_reconnect(wait)) break;
      }
    }
    shutdown();
    return 0;
  }

 private:
  static amqp::ClientOptions client_options(const WorkerOptions& o) {
    amqp::ClientOptions c;
    c.url = o.amqp_url;
    c.connection_name = "beacon-worker " + o.worker_id;
    c.heartbeat_s = o.heartbeat_s;
    return c;
  }

  // ---- lifecycle -------------------------------------------------------
  void start_metrics() {
    if (o_.metrics_addr.empty()) return;
    auto hp = metrics::parse_host_port(o_.metrics_addr);
    metrics::MetricsServerOptions mo;
    mo.host = hp.host;
    mo.port = hp.port;
    server_.emplace(metrics::default_registry(), mo, [this] {
      return broker_ready_ ? metrics::Readiness{true, ""} : metrics::Readiness{false, "broker: not connected"};
    });
    server_->start();
    spdlog::info("metrics on {}", server_->address());
  }

  void connect_broker() {
    try {
      client_.connect();
    } catch (const amqp::AmqpError&) {
      m_.connect_failures.inc();
      throw;
    }
    generation_ = client_.generation();
    session_open_ = true;
    auto topo = amqp::topology_options_from_env();
    amqp::declare_core(client_, topo);
    amqp::declare_region(client_, o_.region, topo);
    control_queue_ = client_.declare_temp_queue_bound_to(std::string(amqp::kControlExchange));
    client_.set_prefetch(static_cast<std::uint16_t>(std::min(o_.concurrency, 65535)));
    // Terminal events whose confirm was lost with the old connection go out
    // again. Their deliveries come back redelivered and find the slot (or the
    // recent outcome), so they are acked once this publish is confirmed.
    if (!orphans_.empty())
      spdlog::info("publishing {} result events again whose confirm the old connection lost", orphans_.size());
    auto orphans = std::move(orphans_);
    orphans_.clear();
    for (std::size_t i = 0; i < orphans.size(); ++i) {
      try {
        send(std::move(orphans[i]));
      } catch (const amqp::AmqpError&) {
        // send() kept the one that failed; keep the rest for the next connection.
        for (std::size_t j = i + 1; j < orphans.size(); ++j) orphans_.push_back(std::move(orphans[j]));
        throw;
      }
    }
    control_tag_ = client_.consume(control_queue_);
    if (!draining_) exec_tag_ = client_.consume(exec_queue_);
    broker_ready_ = true;
    m_.connected.set(1);
    spdlog::info("worker {} consuming {} (concurrency {})", o_.worker_id, exec_queue_, o_.concurrency);
  }

  void on_connection_lost(const std::string& why) {
    if (session_open_) {
      m_.reconnects.inc();
      spdlog::warn("broker connection lost: {}", why);
    } else {
      spdlog::warn("broker unavailable: {}", why);
    }
    session_open_ = false;
    broker_ready_ = false;
    m_.connected.set(0);
    // Delivery tags of the lost connection are void: the broker requeued
    // those messages. A slot still waiting for its preflight is dropped (its
    // message comes back); one whose inference runs or whose result is being
    // published stays, and the redelivered message joins it.
    held_ = 0;
    m_.in_flight.set(0);
    for (auto it = slots_.begin(); it != slots_.end();) {
      it->second.tags.clear();
      it->second.parked.clear();
      if (it->second.phase == Slot::Phase::preflight) {
        it = slots_.erase(it);
      } else {
        ++it;
      }
    }
    // Only terminal events must go out again; a lost `started` is harmless
    // and a dead letter is written again when its message comes back.
    for (auto& [seq, a] : awaiting_)
      if (a.kind == AwaitingConfirm::Kind::terminal) orphans_.push_back(std::move(a));
    awaiting_.clear();
  }

  bool wait_for_reconnect(milliseconds wait) {
    auto until = Clock::now() + wait;
    while (Clock::now() < until) {
      if (stop_requested()) return false;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return !stop_requested();
  }

  void shutdown() {
    boost::asio::post(io_, [this] { inference_.abort_all(); });
    work_.reset();
    // Let the aborts run, then stop whatever idle keep-alive reads remain.
    auto until = Clock::now() + milliseconds(500);
    while (Clock::now() < until && !io_.stopped()) std::this_thread::sleep_for(milliseconds(10));
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
    preflight_.stop();
    client_.close();
    spdlog::info("worker {} stopped", o_.worker_id);
  }

  // ---- the owner loop ---------------------------------------------------
  void serve() {
    while (true) {
      if (stop_requested() && !draining_) begin_drain();
      client_.poll(milliseconds(10));
      while (auto d = client_.take_delivery()) on_delivery(*d);
      for (auto& c : client_.take_confirms()) on_confirm(c);
      for (auto& p : preflight_results_.try_take_all()) on_preflight(std::move(p));
      for (auto& c : completions_.try_take_all()) on_completion(std::move(c));
      refresh_endpoint_metrics();
      if (draining_) {
        auto now = Clock::now();
        if (!aborted_ && now >= drain_deadline_) {
          spdlog::warn("drain timeout: requeueing {} messages still in flight", held_);
          aborted_ = true;
          boost::asio::post(io_, [this] { inference_.abort_all(); });
        }
        if (held_ == 0 && awaiting_.empty()) return;
        if (now >= drain_deadline_ + kDrainGrace) {
          spdlog::error("drain: {} messages and {} publishes still open {} s after the deadline; closing the "
                        "connection (the broker requeues what is unacked)",
                        held_, awaiting_.size(), kDrainGrace.count());
          return;
        }
      }
    }
  }

  void begin_drain() {
    draining_ = true;
    drain_deadline_ = Clock::now() + o_.drain_timeout;
    if (!exec_tag_.empty()) client_.cancel(exec_tag_);
    spdlog::info("stop requested: no new messages; finishing {} in flight (up to {} s)", held_,
                 o_.drain_timeout.count());
  }

  void refresh_endpoint_metrics() {
    auto now = Clock::now();
    if (now < next_stats_) return;
    next_stats_ = now + kStatsRefresh;
    endpoint_metrics_.refresh(inference_.stats());
  }

  void on_delivery(const amqp::Delivery& d) {
    if (d.consumer_tag == control_tag_) return on_control(d);
    m_.consumed.inc();
    hold();
    if (d.oversized) return dead_letter(d, "oversized message (" + std::to_string(d.body_size) + " bytes)", {});
    ExecutionMessage msg;
    try {
      msg = decode_execution(d.body);
    } catch (const BadInput& e) {
      return dead_letter(d, e.what(), {});
    }
    if (msg.key.region != o_.region)
      return dead_letter(d, "message for region '" + msg.key.region + "' on " + exec_queue_, msg.key.log_context());
    dispatch(std::move(msg), d.tag, d.redelivered);
  }

  // A valid execution message of this region: answered from what this
  // worker already knows, joined to a slot, or started on a new slot.
  void dispatch(ExecutionMessage msg, std::uint64_t tag, bool redelivered) {
    if (recent_.answers(msg)) {
      // Its terminal event was confirmed by the broker already (this
      // worker's own earlier delivery): ack, pay nothing.
      m_.absorbed.inc();
      spdlog::info("{}: outcome already published by this worker; acked without inference", msg.key.log_context());
      return ack(tag);
    }
    auto id = slot_id(msg);
    if (auto it = slots_.find(id); it != slots_.end()) {
      m_.absorbed.inc();
      spdlog::info("{}: {} delivery joins the execution already running here", msg.key.log_context(),
                   redelivered ? "redelivered" : "duplicate");
      it->second.tags.push_back(tag);
      return;
    }
    if (auto* other = slot_of_execution(msg.key)) {
      spdlog::info("{}: submission {} waits for submission {} already running here", msg.key.log_context(),
                   msg.submission, other->message.submission);
      other->parked.push_back(Parked{tag, std::move(msg), redelivered});
      return;
    }
    Slot& slot = slots_[id];
    slot.message = std::move(msg);
    slot.tags.push_back(tag);
    if (recently_cancelled(slot.message.key.job_id)) return finish_cancelled(id);
    preflight_.submit(PreflightItem{generation_, tag, slot.message, redelivered, Verdict::run});
  }

  // The slot of any submission of this execution, or nullptr.
  Slot* slot_of_execution(const ExecutionKey& key) {
    auto prefix = key.message_id() + "#";
    auto it = slots_.lower_bound(prefix);
    if (it == slots_.end() || it->first.compare(0, prefix.size(), prefix) != 0) return nullptr;
    return &it->second;
  }

  void on_control(const amqp::Delivery& d) {
    try {
      auto job = job_of_control_message(d.body);
      cancelled_jobs_[job] = Clock::now();
      spdlog::info("job={} cancelled: its queued messages will be dropped", job);
    } catch (const BadInput& e) {
      m_.control_errors.inc();
      spdlog::error("ignoring a malformed control message: {}", e.what());
    }
    client_.ack(d.tag);
  }

  bool recently_cancelled(const std::string& job_id) {
    auto it = cancelled_jobs_.find(job_id);
    if (it == cancelled_jobs_.end()) return false;
    if (Clock::now() - it->second < kCancelMemory) return true;
    cancelled_jobs_.erase(it);
    return false;
  }

  void on_preflight(PreflightItem p) {
    if (p.generation != generation_) return;  // its delivery died with the old connection
    auto id = slot_id(p.message);
    auto it = slots_.find(id);
    if (it == slots_.end() || it->second.phase != Slot::Phase::preflight) return;
    const auto& key = p.message.key;
    if (p.verdict == Verdict::already_completed) {
      m_.skipped.inc(it->second.tags.size());
      spdlog::info("{}: already completed, acked without inference", key.log_context());
      recent_.record(key.message_id(), p.message.submission, true);
      return settle(it, Settle::completed);
    }
    if (draining_ && aborted_) return settle(it, Settle::requeue);
    if (p.verdict == Verdict::job_cancelled || recently_cancelled(key.job_id)) {
      if (p.verdict == Verdict::job_cancelled) cancelled_jobs_[key.job_id] = Clock::now();
      return finish_cancelled(id);
    }
    start_inference(id, it->second);
  }

  void start_inference(const std::string& id, Slot& slot) {
    const auto& msg = slot.message;
    const auto* ep = endpoints_.find(msg.key.region, msg.key.model_id);
    slot.started_at = now_rfc3339();
    if (!ep) {
      // Not retryable: the configuration has no answer for this model. The
      // execution fails with the reason; a later re-submit (after the
      // endpoint file is fixed) runs it again.
      ResultEvent e = base_event(EventKind::failed, msg, slot.started_at);
      e.completed_at = slot.started_at;
      e.error = ErrorInfo{"no_endpoint", "no endpoint configured for region '" + msg.key.region + "' and model '" +
                                              msg.key.model_id + "'"};
      spdlog::error("{}: {}", msg.key.log_context(), e.error->message);
      m_.failed.inc();
      return publish_terminal(id, e);
    }
    slot.phase = Slot::Phase::inference;
    auto started = base_event(EventKind::started, msg, slot.started_at);
    infer::InferenceRequest req;
    req.model_id = msg.key.model_id;
    req.region = msg.key.region;
    req.system_prompt = render_system_prompt(msg.system_prompt, msg.key.region, msg.key.model_id);
    req.prompt = msg.prompt;
    req.params_json = msg.params_json;
    boost::asio::post(io_, [this, ep, req = std::move(req), id]() mutable {
      inference_.submit(*ep, std::move(req), [this, id](infer::InferenceOutcome out) mutable {
        completions_.put(Completion{id, std::move(out)});
      });
    });
    // After the request is on its way, so that a connection lost while
    // publishing cannot leave the slot waiting for an inference never started.
    publish_started(started);
  }

  void on_completion(Completion c) {
    auto it = slots_.find(c.slot);
    if (it == slots_.end()) {
      spdlog::error("inference finished for {} but nothing waits for it (bug)", c.slot);
      return;
    }
    Slot& slot = it->second;
    const auto& key = slot.message.key;
    if (c.outcome.aborted) {
      // Shutdown before an answer: never a failure, the message goes back.
      return settle(it, Settle::requeue);
    }
    ResultEvent e = base_event(c.outcome.ok ? EventKind::completed : EventKind::failed, slot.message, slot.started_at);
    e.attempt = std::max(1, c.outcome.attempts);
    e.completed_at = now_rfc3339();
    e.receipt = c.outcome.receipt;
    if (c.outcome.ok) {
      e.output = c.outcome.output;
      m_.completed.inc();
      spdlog::debug("{}: completed ({}, {:.0f} ms)", key.log_context(), to_string(e.output->classification),
                    e.receipt->latency_ms);
    } else {
      e.error = c.outcome.error.value_or(ErrorInfo{"unknown", "inference failed"});
      m_.failed.inc();
      spdlog::error("{}: failed after {} attempts: {} ({})", key.log_context(), e.attempt, e.error->message,
                    e.error->kind);
    }
    publish_terminal(c.slot, e);
  }

  void finish_cancelled(const std::string& id) {
    auto& slot = slots_.at(id);
    m_.cancelled.inc();
    spdlog::info("{}: job cancelled, dropped without inference", slot.message.key.log_context());
    auto e = base_event(EventKind::cancelled, slot.message, "");
    e.completed_at = now_rfc3339();
    e.error = ErrorInfo{"cancelled", "job cancelled before this execution ran"};
    publish_terminal(id, e);
  }

  ResultEvent base_event(EventKind kind, const ExecutionMessage& msg, const std::string& started_at) {
    ResultEvent e;
    e.event = kind;
    e.key = msg.key;
    e.worker_id = o_.worker_id;
    e.attempt = 1;
    e.started_at = started_at;
    return e;
  }

  // Acks (an outcome is recorded) or requeues every delivery waiting on the
  // slot, then forgets it. Parked deliveries of other submissions are acked
  // only by a completed outcome; after any other they take the normal path.
  void settle(std::map<std::string, Slot>::iterator it, Settle how) {
    // The slot goes first: if the connection fails half-way, the remaining
    // tags are void anyway, and no later delivery may join a finished slot.
    auto key = it->second.message.key;
    auto tags = std::move(it->second.tags);
    auto parked = std::move(it->second.parked);
    slots_.erase(it);
    for (auto tag : tags) {
      if (how == Settle::requeue) {
        requeue(tag, key);
      } else {
        ack(tag);
      }
    }
    for (auto& p : parked) {
      if (how == Settle::requeue) {
        requeue(p.tag, key);
      } else if (how == Settle::completed) {
        m_.absorbed.inc();
        spdlog::info("{}: submission {} answered by the completed run of this worker", key.log_context(),
                     p.message.submission);
        ack(p.tag);
      } else {
        dispatch(std::move(p.message), p.tag, p.redelivered);
      }
    }
  }

  // ---- publishing with confirms, then acking ----------------------------
  AwaitingConfirm event_publish(const ResultEvent& e) {
    AwaitingConfirm a;
    a.exchange = std::string(amqp::kResultsExchange);
    a.routing_key = std::string(amqp::kResultsRoutingKey);
    a.body = encode(e);
    a.message_id = e.key.message_id() + "/" + std::string(to_string(e.event));
    a.what = e.key.log_context() + " event=" + std::string(to_string(e.event));
    return a;
  }

  void publish_started(const ResultEvent& e) {
    AwaitingConfirm a = event_publish(e);
    a.kind = AwaitingConfirm::Kind::started;
    send(std::move(a));
  }

  void publish_terminal(const std::string& id, const ResultEvent& e) {
    slots_.at(id).phase = Slot::Phase::publishing;
    AwaitingConfirm a = event_publish(e);
    a.kind = AwaitingConfirm::Kind::terminal;
    a.slot = id;
    a.completed = e.event == EventKind::completed;
    send(std::move(a));
  }

  void dead_letter(const amqp::Delivery& d, const std::string& reason, const std::string& context) {
    spdlog::error("dead-lettering message {} from {}: {}{}{}", d.message_id.empty() ? "(no id)" : d.message_id,
                  exec_queue_, reason, context.empty() ? "" : " ", context);
    m_.dead.inc();
    AwaitingConfirm a;
    a.kind = AwaitingConfirm::Kind::dead_letter;
    a.generation = generation_;
    a.tag = d.tag;
    a.exchange = std::string(amqp::kDeadExchange);
    a.body = d.body.substr(0, kDeadLetterBodyLimit);
    a.message_id = d.message_id;
    a.headers[std::string(amqp::kReasonHeader)] = reason;
    a.headers[std::string(amqp::kSourceQueueHeader)] = exec_queue_;
    a.what = "dead letter (" + reason + ")";
    send(std::move(a));
  }

  void send(AwaitingConfirm a) {
    amqp::PublishProps props;
    props.message_id = a.message_id;
    props.headers = a.headers;
    props.mandatory = a.kind != AwaitingConfirm::Kind::dead_letter;
    std::uint64_t seq = 0;
    try {
      seq = client_.publish(a.exchange, a.routing_key, a.body, props);
    } catch (const amqp::AmqpError&) {
      // The connection went during the publish. A terminal event must still
      // go out (its slot waits for it): publish it on the next connection.
      if (a.kind == AwaitingConfirm::Kind::terminal) orphans_.push_back(std::move(a));
      throw;
    }
    awaiting_.emplace(seq, std::move(a));
  }

  void on_confirm(const amqp::Confirm& c) {
    auto it = awaiting_.find(c.seq);
    if (it == awaiting_.end()) return;
    AwaitingConfirm a = std::move(it->second);
    awaiting_.erase(it);
    if (c.ok) return confirmed(a);
    m_.publish_refused.inc();
    if (a.tries < kMaxPublishTries) {
      spdlog::warn("broker refused {} ({}); publishing again", a.what, c.reason);
      ++a.tries;
      return send(std::move(a));
    }
    spdlog::error("broker refused {} {} times ({}); its message is requeued", a.what, a.tries, c.reason);
    if (a.kind == AwaitingConfirm::Kind::terminal) {
      if (auto s = slots_.find(a.slot); s != slots_.end()) settle(s, Settle::requeue);
    } else if (a.kind == AwaitingConfirm::Kind::dead_letter && a.generation == generation_) {
      requeue(a.tag, ExecutionKey{});
    }
  }

  // SPEC invariant 3: a delivery is acked only here, after the broker
  // confirmed its terminal event (or its dead letter).
  void confirmed(const AwaitingConfirm& a) {
    switch (a.kind) {
      case AwaitingConfirm::Kind::started:
        return;
      case AwaitingConfirm::Kind::dead_letter:
        if (a.generation == generation_) ack(a.tag);
        return;
      case AwaitingConfirm::Kind::terminal: {
        auto s = slots_.find(a.slot);
        if (s == slots_.end()) return;
        recent_.record(s->second.message.key.message_id(), s->second.message.submission, a.completed);
        settle(s, a.completed ? Settle::completed : Settle::other_outcome);
        return;
      }
    }
  }

  void hold() {
    ++held_;
    m_.in_flight.set(static_cast<double>(held_));
  }
  void release() {
    if (held_ > 0) --held_;
    m_.in_flight.set(static_cast<double>(held_));
  }
  void ack(std::uint64_t tag) {
    client_.ack(tag);
    m_.acked.inc();
    release();
  }
  void requeue(std::uint64_t tag, const ExecutionKey& key) {
    client_.reject(tag, true);
    m_.requeued.inc();
    if (!key.job_id.empty()) spdlog::info("{}: requeued", key.log_context());
    release();
  }

  WorkerOptions o_;
  amqp::Client client_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  infer::EndpointTable endpoints_;  // outlives every request that points into it
  infer::InferenceClient inference_;
  Mailbox<PreflightItem> preflight_results_;
  Preflight preflight_;
  Mailbox<Completion> completions_;
  Metrics m_;
  EndpointMetrics endpoint_metrics_;
  std::optional<metrics::MetricsServer> server_;
  std::thread io_thread_;

  std::string exec_queue_, control_queue_, exec_tag_, control_tag_;
  std::uint64_t generation_ = 0;
  std::map<std::string, Slot> slots_;
  std::map<std::uint64_t, AwaitingConfirm> awaiting_;
  std::vector<AwaitingConfirm> orphans_;
  RecentOutcomes recent_;
  std::map<std::string, Clock::time_point> cancelled_jobs_;
  std::size_t held_ = 0;
  bool draining_ = false;
  bool aborted_ = false;
  Clock::time_point drain_deadline_{};
  Clock::time_point next_stats_{};
  std::atomic<bool> broker_ready_{false};
  bool session_open_ = false;  // a connection was established and not yet lost
};

}  // namespace

int run_worker(const WorkerOptions& options) {
  infer::EndpointTable endpoints;
  try {
    endpoints = infer::EndpointTable::load_file(options.endpoints_file);
  } catch (const std::exception& e) {
    spdlog::error("endpoint file {}: {}", options.endpoints_file, e.what());
    return 2;
  }
  if (!endpoints.has_region(options.region)) {
    spdlog::error("endpoint file {} has no entry for region '{}': refusing to start", options.endpoints_file,
                  options.region);
    return 2;
  }
  try {
    amqp::topology_options_from_env();  // a bad BEACON_QUEUE_TYPE is a configuration error: exit 2, no retry loop
  } catch (const std::invalid_argument& e) {
    spdlog::error("{}", e.what());
    return 2;
  }
  Worker worker(options, std::move(endpoints));
  return worker.run();
}

}  // namespace beacon
