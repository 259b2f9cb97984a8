#include "worker.hpp"

#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <beacon/amqp/session_loop.hpp>
#include <beacon/amqp/client.hpp>
#include <beacon/amqp/errors.hpp>
#include <beacon/amqp/fresh_copy.hpp>
#include <beacon/amqp/topology.hpp>
#include <beacon/core/clock.hpp>
#include <beacon/core/control_message.hpp>
#include <beacon/core/mailbox.hpp>
#include <beacon/core/messages.hpp>
#include <beacon/core/stop_signal.hpp>
#include <beacon/core/errors.hpp>
#include <beacon/infer/inference_client.hpp>
#include <beacon/infer/pricing.hpp>
#include <beacon/infer/protocol.hpp>
#include <beacon/metrics/http_server.hpp>

#include "cancel_memory.hpp"
#include "confirm_ledger.hpp"
#include "endpoint_metrics.hpp"
#include "lane_consumers.hpp"
#include "lane_gate.hpp"
#include "lane_watch.hpp"
#include "execution_request.hpp"
#include "preflight.hpp"
#include "rate_leaser.hpp"
#include "reload_signal.hpp"
#include "recent_outcomes.hpp"
#include "refusal_streaks.hpp"
#include "slot_table.hpp"
#include "worker_metrics.hpp"

// The owner loop: the thread that owns the AMQP connection. It only wires
// the rules together: the slot table decides what a delivery or an outcome
// means, the confirm ledger decides what a confirm allows (the one place an
// ack is decided), the cancel memory and recent outcomes answer deliveries
// without paying; this loop does what they say.

namespace beacon {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kDeadLetterBodyLimit = 64 * 1024;
// After the drain deadline, aborted requests requeue at once; this is the
// most the worker then waits for the broker before it closes anyway (the
// broker requeues whatever is still unacked when the connection closes).
constexpr auto kDrainGrace = std::chrono::seconds(10);
// What shutdown() may take after the loop ends (aborts 0.5 s, a close the
// broker does not answer 2 s, as under a resource alarm): the loop ends this
// much before the grace does, so the exit stays within drain timeout + 10 s.
constexpr auto kShutdownAllowance = std::chrono::seconds(3);
constexpr auto kStatsRefresh = std::chrono::seconds(1);

// One inference that finished (or was aborted or cancelled) on the Asio thread.
struct Completion {
  std::string slot;
  infer::InferenceOutcome outcome;
};

PreflightVerdict to_slot_verdict(Verdict v) {
  switch (v) {
    case Verdict::run:
      return PreflightVerdict::run;
    case Verdict::already_completed:
      return PreflightVerdict::already_completed;
    case Verdict::job_cancelled:
      return PreflightVerdict::job_cancelled;
    case Verdict::reused:
      return PreflightVerdict::reused;
  }
  return PreflightVerdict::run;
}

class Worker {
 public:
  Worker(const WorkerOptions& o, infer::EndpointTable endpoints)
      : o_(o),
        client_(client_options(o)),
        work_(io_.get_executor()),
        endpoints_(std::move(endpoints)),
        rate_limits_(std::make_shared<infer::FleetRateLimits>()),
        inference_(io_, endpoints_, inference_options(rate_limits_)),
        preflight_(o.database_url, o.worker_id, o.region, preflight_results_),
        m_(o.region),
        endpoint_metrics_(metrics::default_registry()),
        slots_(recent_, cancels_),
        gate_(static_cast<std::size_t>(o.concurrency)),
        lanes_(client_, o.region, o.concurrency) {
    exec_queue_ = amqp::exec_queue(o.region);
    topology_ = amqp::topology_options_from_env();
    inference_.set_attempt_observer([this](const infer::AttemptEvent& e) { endpoint_metrics_.observe(e); });
    start_rate_leaser(endpoints_);
    if (o.database_url.empty()) {
      spdlog::warn("BEACON_DATABASE_URL is not set: this worker consumes only {}, not the lanes of jobs that share "
                   "the region (docs/fair-share.md); give at least one worker per region a database",
                   exec_queue_);
    } else {
      lane_watch_.emplace(o.database_url, o.region, lane_updates_);
    }
  }

  static infer::InferenceClient::Options inference_options(std::shared_ptr<infer::FleetRateLimits> limits) {
    infer::InferenceClient::Options opt;
    opt.rate_limits = std::move(limits);
    return opt;
  }

  // Fleet-wide limits need the shared bucket in Postgres; without a database
  // every worker enforces the whole limit by itself, and says so.
  void start_rate_leaser(const infer::EndpointTable& table) {
    bool any = false;
    for (const auto& e : table.entries()) {
      any = any || (e.region == o_.region && (e.requests_per_minute > 0 || e.tokens_per_minute > 0));
    }
    if (!any || leaser_) return;
    if (o_.database_url.empty()) {
      spdlog::warn("requests_per_minute / tokens_per_minute are set but BEACON_DATABASE_URL is not: this worker "
                   "enforces each limit alone, so N workers may send N times the limit; set BEACON_DATABASE_URL "
                   "to share the limits across the fleet");
      return;
    }
    leaser_.emplace(o_.database_url, o_.worker_id, rate_limits_);
    spdlog::info("fleet-wide rate limits: leasing capacity from the database buckets");
  }

  // SIGHUP: a valid file replaces the limits; a bad one keeps the old ones.
  void reload_endpoints() {
    try {
      infer::EndpointTable table = infer::EndpointTable::load_file(o_.endpoints_file);
      if (!table.has_region(o_.region)) throw BadInput("no entry for region '" + o_.region + "'");
      spdlog::info("SIGHUP: endpoint file {} re-read; applying its limits and prices", o_.endpoints_file);
      inference_.reconfigure(table);
      if (const auto n = endpoints_.take_prices_from(table))
        spdlog::info("SIGHUP: new prices for {} endpoint entries; answers from now on are priced by them", n);
      start_rate_leaser(table);
    } catch (const std::exception& e) {
      spdlog::error("SIGHUP: endpoint file {} not reloaded, keeping the current limits: {}", o_.endpoints_file,
                    e.what());
    }
  }


  int run() {
    try {
      start_metrics();
    } catch (const std::exception& e) {
      spdlog::error("cannot serve metrics on {}: {}", o_.metrics_addr, e.what());
      return 2;
    }
    io_thread_ = std::thread([this] {
      // A handler that throws ends run(); log it and go on serving the others.
      while (true) {
        try {
          io_.run();
          return;
        } catch (const std::exception& e) {
          spdlog::critical("worker {}: unexpected error on the inference thread: {}; carrying on", o_.worker_id,
                           e.what());
        }
      }
    });
    amqp::SessionHooks hooks;
    hooks.connect = [this] { connect_broker(); };
    hooks.serve = [this] { serve(); };
    hooks.lost = [this](const std::string& why) { on_connection_lost(why); };
    hooks.drop_session = [this] { client_.close(); };
    hooks.wait_unless_stopped = [this](milliseconds wait) {
      return amqp::sleep_unless(wait, [this] { return stop_requested(); });
    };
    hooks.redacted_url = [this] { return client_.redacted_url(); };
    hooks.who = "worker " + o_.worker_id + " region=" + o_.region;
    amqp::run_session_loop(hooks);
    shutdown();
    return 0;
  }

 private:
  static amqp::ClientOptions client_options(const WorkerOptions& o) {
    amqp::ClientOptions c;
    c.url = o.amqp_url;
    c.node_order = o.amqp_node_order;
    c.tls = o.amqp_tls;
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
    amqp::declare_core(client_, topology_);
    amqp::declare_region(client_, o_.region, topology_);
    control_queue_ = client_.declare_temp_queue_bound_to(std::string(amqp::kControlExchange));
    client_.set_prefetch(static_cast<std::uint16_t>(std::min(o_.concurrency, 65535)));
    // Terminal events whose confirm was lost with the old connection go out
    // again (confirm_ledger.hpp).
    auto orphans = ledger_.take_orphans();
    if (!orphans.empty())
      spdlog::info("publishing {} result events again whose confirm the old connection lost", orphans.size());
    for (std::size_t i = 0; i < orphans.size(); ++i) {
      try {
        send(std::move(orphans[i]));
      } catch (const amqp::AmqpError&) {
        // send() kept the one that failed; keep the rest for the next connection.
        for (std::size_t j = i + 1; j < orphans.size(); ++j) ledger_.unsent(std::move(orphans[j]));
        throw;
      }
    }
    // The lease (SPEC decisions, D3): the `started` of a running inference
    // may have been lost with the old connection; without it the row does not
    // show this worker's live attempt, and another worker that gets the
    // redelivered message would pay again.
    auto running = slots_.in_phase(SlotPhase::inference);
    if (!running.empty()) spdlog::info("publishing `started` again for {} running inferences", running.size());
    for (const auto& id : running) {
      const Slot* slot = slots_.find(id);
      publish_started(base_event(EventKind::started, slot->message, slot->started_at));
    }
    control_tag_ = client_.consume(control_queue_);
    cancel_deferred_ = false;  // a new connection: a draining worker does not consume
    if (!draining_) exec_tag_ = client_.consume(exec_queue_);
    lanes_retry_at_ = {};  // lanes are consumed again by the next reconcile
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
    // Delivery tags of the lost connection are void: the broker requeued those messages.
    held_.clear();
    gate_.clear();
    lanes_.connection_lost();
    m_.in_flight.set(0);
    slots_.connection_lost();
    ledger_.connection_lost();
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
    if (leaser_) leaser_->stop();
    if (lane_watch_) lane_watch_->stop();
    client_.close();
    spdlog::info("worker {} stopped", o_.worker_id);
  }

  // ---- the owner loop ---------------------------------------------------
  // Every wait in here is bounded (poll 10 ms; sends are bounded by the
  // client), so a stop request is seen within the drain bound even while the
  // broker blocks the connection (resource alarm).
  void serve() {
    while (true) {
      if (stop_requested() && !draining_) begin_drain();
      if (take_reload_request()) reload_endpoints();
      client_.poll(milliseconds(10));
      while (auto d = client_.take_delivery()) on_delivery(*d);
      for (auto& c : client_.take_confirms()) on_confirm(c);
      for (auto& p : preflight_results_.try_take_all()) on_preflight(std::move(p));
      for (auto& c : completions_.try_take_all()) on_completion(std::move(c));
      for (auto& lanes : lane_updates_.try_take_all()) on_lanes(std::move(lanes));
      follow_lanes();
      dispatch_gated();
      refresh_endpoint_metrics();
      if (draining_) {
        if (cancel_deferred_ && !client_.blocked()) cancel_consumer();
        auto now = Clock::now();
        if (!aborted_ && now >= drain_deadline_) {
          spdlog::warn("drain timeout: requeueing {} messages still in flight", held_.size());
          aborted_ = true;
          boost::asio::post(io_, [this] { inference_.abort_all(); });
        }
        if (held_.empty() && ledger_.empty()) return;
        if (now >= drain_deadline_ + kDrainGrace - kShutdownAllowance) {
          spdlog::error("drain: {} messages and {} publishes still open {} s after the deadline{}; closing the "
                        "connection (the broker requeues what is unacked)",
                        held_.size(), ledger_.awaiting(), (kDrainGrace - kShutdownAllowance).count(),
                        client_.blocked() ? " (the broker blocks this connection)" : "");
          return;
        }
      }
    }
  }

  void begin_drain() {
    draining_ = true;
    drain_deadline_ = Clock::now() + o_.drain_timeout;
    // basic.cancel waits for its reply, which a broker that blocks this
    // connection (resource alarm) does not send: then the cancel waits for
    // the unblock, and whatever arrives meanwhile is requeued (on_delivery).
    if (client_.blocked()) {
      cancel_deferred_ = true;
      spdlog::warn("stop requested while the broker blocks this connection: consumer cancelled once it unblocks");
    } else {
      cancel_consumer();
    }
    spdlog::info("stop requested: no new messages; finishing {} in flight (up to {} s)", held_.size(),
                 o_.drain_timeout.count());
  }

  void cancel_consumer() {
    cancel_deferred_ = false;
    if (!exec_tag_.empty()) client_.cancel(exec_tag_);
    lanes_.cancel_all();
    // Held for a free slot, never started: back they go, like a delivery
    // that arrives while draining.
    auto waiting = gate_.take_waiting();
    if (!waiting.empty()) spdlog::info("stop requested: requeueing {} messages that waited for a slot", waiting.size());
    for (const auto& w : waiting) requeue(w.tag);
  }

  // ---- lanes (docs/fair-share.md) -------------------------------------
  void on_lanes(std::vector<ActiveLane> lanes) {
    for (const auto& lane : lanes) gate_.set_weight(lane.job_id, lane.weight);
    lanes_.want(std::move(lanes));
  }

  // Consumes the lanes the watch reported, cancels the finished ones. Not
  // while draining (nothing new is taken) or blocked (consume would wait for
  // the alarm to clear); a lane the broker refuses is tried again in 5 s.
  void follow_lanes() {
    if (!lanes_.out_of_date() || draining_ || !broker_ready_ || client_.blocked()) return;
    const auto now = Clock::now();
    if (now < lanes_retry_at_) return;
    try {
      for (const auto& job : lanes_.reconcile(topology_)) gate_.retire(job);
      m_.lanes.set(static_cast<double>(lanes_.consumed()));
    } catch (const amqp::ChannelClosed& e) {
      lanes_retry_at_ = now + std::chrono::seconds(5);
      spdlog::error("worker {} region={}: the broker refused a lane ({}); trying again in 5 s", o_.worker_id,
                    o_.region, e.what());
    }
  }

  // Hands held deliveries to the slot table as slots free up, lane by lane.
  void dispatch_gated() {
    while (auto g = gate_.next()) run(slots_.dispatch(std::move(g->message), g->tag, g->may_be_done));
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
    held_[d.tag] = d;
    m_.in_flight.set(static_cast<double>(held_.size()));
    if (d.oversized) return dead_letter(d, "oversized message (" + std::to_string(d.body_size) + " bytes)", {});
    ExecutionMessage msg;
    try {
      msg = decode_execution(d.body);
    } catch (const BadInput& e) {
      return dead_letter(d, e.what(), {});
    }
    if (msg.key.region != o_.region)
      return dead_letter(d, "message for region '" + msg.key.region + "' on " + exec_queue_, msg.key.log_context());
    if (draining_) {
      // Arrived after the consumer was cancelled: not started, back it goes.
      spdlog::info("{}: arrived while draining; requeued", msg.key.log_context());
      return requeue(d.tag);
    }
    if (amqp::needs_refresh(d, topology_.delivery_limit)) {
      // It came back often (lost connections, restarts): a fresh copy resets
      // its delivery count so the broker's limit never dead-letters it (D2).
      spdlog::info("{}: delivery count {} near the limit {}; re-published as a fresh copy", msg.key.log_context(),
                   d.headers.at(std::string(amqp::kDeliveryCountHeader)), topology_.delivery_limit);
      m_.refreshed.inc();
      return publish_fresh_copy(d.tag, false);
    }
    // A fresh copy (a requeue of beacon's own doing) may be of work already
    // done: the preflight checks it like a redelivery.
    const bool may_be_done = d.redelivered || d.headers.count(std::string(amqp::kRequeuesHeader)) > 0;
    gate_.hold(lanes_.lane_of(d.consumer_tag), GatedDelivery{std::move(msg), d.tag, may_be_done});
  }

  // Does what the slot table decided.
  void run(SlotActions a) {
    if (a.absorbed) m_.absorbed.inc(a.absorbed);
    if (a.skipped) m_.skipped.inc(a.skipped);
    for (auto tag : a.ack) ack(tag);
    for (auto tag : a.requeue) requeue(tag);
    for (auto& p : a.preflight) {
      PreflightItem item{generation_, p.tag, std::move(p.message), p.redelivered, Verdict::run};
      item.reuse_request = reuse_identity(endpoints_, item.message);  // reuse_lookup.hpp
      preflight_.submit(std::move(item));
    }
    for (const auto& id : a.publish_cancelled) finish_cancelled(id, "job cancelled before this execution ran");
    for (const auto& id : a.publish_reused) publish_reused(id);
    for (const auto& id : a.start_inference) start_inference(id);
  }

  void on_control(const amqp::Delivery& d) {
    try {
      auto notice = decode_control(d.body);
      cancels_.remember(notice);
      // Stop the spending: requests of the job still waiting inside this
      // worker for an endpoint slot end without a call (they come back as
      // cancelled completions); those on the wire finish and are kept.
      auto running = slots_.running_cancelled_by(notice);
      spdlog::info("job={} submission<={} cancelled ({}): its queued messages will be dropped ({} running here)",
                   notice.job_id, notice.submission, to_string(notice.reason), running.size());
      if (!running.empty()) {
        std::set<std::string> ids(running.begin(), running.end());
        inference_.cancel_queued([ids = std::move(ids)](const infer::InferenceRequest& r) {
          return ids.count(r.caller_tag) > 0;
        });
      }
    } catch (const BadInput& e) {
      m_.control_errors.inc();
      spdlog::error("ignoring a malformed control message: {}", e.what());
    }
    client_.ack(d.tag);
  }

  void on_preflight(PreflightItem p) {
    if (p.generation != generation_) return;  // its delivery died with the old connection
    run(slots_.preflight_done(p.message, to_slot_verdict(p.verdict), draining_ && aborted_,
                              std::move(p.reused_event)));
  }

  void start_inference(const std::string& id) {
    Slot* slot = slots_.find(id);
    if (!slot) return;
    const auto& msg = slot->message;
    const auto* ep = endpoints_.find(msg.key.region, msg.key.model_id);
    slot->started_at = now_rfc3339();
    if (!ep) {
      // Not retryable: the configuration has no answer for this model. The
      // execution fails with the reason; a later re-submit (after the
      // endpoint file is fixed) runs it again.
      ResultEvent e = base_event(EventKind::failed, msg, slot->started_at);
      e.completed_at = slot->started_at;
      e.error = ErrorInfo{ErrorKind::no_endpoint, "no endpoint configured for region '" + msg.key.region + "' and model '" +
                                              msg.key.model_id + "'"};
      spdlog::error("{}: {}", msg.key.log_context(), e.error->message);
      m_.failed.inc();
      return publish_terminal(id, e);
    }
    auto started = base_event(EventKind::started, msg, slot->started_at);
    infer::InferenceRequest req = inference_request(msg, id);
    // Bad params: no identity; the request fails with the reason when it is built.
    if (auto identity = identify_request(*ep, req)) {
      slot->seed = identity->seed;
      slot->request_digest = std::move(identity->digest);  // stored with the answer, for later jobs' reuse
    }
    started.seed = slot->seed;
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
    Slot* slot = slots_.find(c.slot);
    if (!slot) {
      spdlog::error("inference finished for {} but nothing waits for it (bug)", c.slot);
      return;
    }
    const auto& key = slot->message.key;
    if (c.outcome.aborted) {
      // Shutdown before an answer: never a failure, the message goes back.
      return run(slots_.settle(c.slot, Settle::requeue));
    }
    if (c.outcome.cancelled) return finish_cancelled(c.slot, "job cancelled before this request reached the endpoint");
    ResultEvent e = base_event(c.outcome.ok ? EventKind::completed : EventKind::failed, slot->message, slot->started_at);
    e.attempt = std::max(1, c.outcome.attempts);
    e.seed = slot->seed;
    e.completed_at = now_rfc3339();
    e.receipt = c.outcome.receipt;
    if (c.outcome.ok) {
      e.output = c.outcome.output;
      e.request_digest = slot->request_digest;
      if (const auto* ep = endpoints_.find(key.region, key.model_id)) {
        e.cost_usd = infer::cost_usd(ep->prices, *e.output, e.receipt ? e.receipt->latency_ms : 0);
        endpoint_metrics_.spent(ep->parsed_url.redacted(), ep->region, ep->model, *e.output, e.cost_usd);
      }
      m_.completed.inc();
      spdlog::debug("{}: completed ({}, {:.0f} ms)", key.log_context(), to_string(e.output->classification),
                    e.receipt->latency_ms);
    } else {
      e.error = c.outcome.error.value_or(ErrorInfo{ErrorKind::unknown, "inference failed"});
      m_.failed.inc();
      spdlog::error("{}: failed after {} attempts: {} ({})", key.log_context(), e.attempt, e.error->message,
                    to_string(e.error->kind));
    }
    publish_terminal(c.slot, e);
  }

  // An earlier job's answer to the same request, copied (reuse_lookup.hpp);
  // the slot table hands over only slots that hold the copied event.
  void publish_reused(const std::string& id) {
    m_.completed.inc();
    m_.reused.inc();
    publish_terminal(id, *slots_.find(id)->reused_event);
  }

  void finish_cancelled(const std::string& id, const std::string& why) {
    Slot* slot = slots_.find(id);
    if (!slot) return;
    m_.cancelled.inc();
    const CancelReason reason = cancels_.reason(slot->message.key.job_id);
    spdlog::info("{}: job cancelled ({}), dropped without inference", slot->message.key.log_context(),
                 to_string(reason));
    auto e = base_event(EventKind::cancelled, slot->message, slot->started_at);
    e.completed_at = now_rfc3339();
    e.error = ErrorInfo{ErrorKind::cancelled,
                        reason == CancelReason::budget_exhausted ? why + " (its budget was spent)" : why, reason};
    publish_terminal(id, e);
  }

  ResultEvent base_event(EventKind kind, const ExecutionMessage& msg, const std::string& started_at) {
    ResultEvent e;
    e.event = kind;
    e.key = msg.key;
    e.worker_id = o_.worker_id;
    e.attempt = 1;
    e.started_at = started_at;
    e.submission = msg.submission;
    return e;
  }

  // ---- publishing with confirms, then acking ----------------------------
  Publish event_publish(const ResultEvent& e) {
    Publish p;
    p.exchange = std::string(amqp::kResultsExchange);
    p.routing_key = std::string(amqp::kResultsRoutingKey);
    p.body = encode(e);
    p.message_id = e.key.message_id() + "/" + std::string(to_string(e.event));
    p.what = e.key.log_context() + " event=" + std::string(to_string(e.event));
    return p;
  }

  void publish_started(const ResultEvent& e) {
    Publish p = event_publish(e);
    p.purpose = Publish::Purpose::started;
    send(std::move(p));
  }

  void publish_terminal(const std::string& id, const ResultEvent& e) {
    slots_.set_phase(id, SlotPhase::publishing);
    Publish p = event_publish(e);
    p.purpose = Publish::Purpose::terminal;
    p.slot = id;
    p.completed = e.event == EventKind::completed;
    send(std::move(p));
  }

  void dead_letter(const amqp::Delivery& d, const std::string& reason, const std::string& context) {
    const std::string source = lanes_.queue_of(d.consumer_tag, exec_queue_);
    spdlog::error("dead-lettering message {} from {}: {}{}{}", d.message_id.empty() ? "(no id)" : d.message_id,
                  source, reason, context.empty() ? "" : " ", context);
    m_.dead.inc();
    Publish p;
    p.purpose = Publish::Purpose::dead_letter;
    p.generation = generation_;
    p.tag = d.tag;
    p.exchange = std::string(amqp::kDeadExchange);
    p.body = d.body.substr(0, kDeadLetterBodyLimit);
    p.message_id = d.message_id;
    p.headers[std::string(amqp::kReasonHeader)] = reason;
    p.headers[std::string(amqp::kSourceQueueHeader)] = source;
    p.mandatory = false;
    p.what = "dead letter (" + reason + ")";
    send(std::move(p));
  }

  // A requeue of beacon's own doing (D2): a fresh copy at the tail of the
  // queue, the original acked once the copy is confirmed.
  void requeue(std::uint64_t tag) {
    m_.requeued.inc();
    publish_fresh_copy(tag, true);
  }

  void publish_fresh_copy(std::uint64_t tag, bool log_requeue) {
    auto it = held_.find(tag);
    if (it == held_.end()) {
      spdlog::error("requeue of delivery {} that this connection does not hold (bug); rejecting it", tag);
      client_.reject(tag, true);
      return;
    }
    const amqp::Delivery& d = it->second;
    auto copy = amqp::fresh_copy(d, lanes_.queue_of(d.consumer_tag, exec_queue_));
    Publish p;
    p.purpose = Publish::Purpose::fresh_copy;
    p.generation = generation_;
    p.tag = tag;
    p.exchange = copy.exchange;
    p.routing_key = copy.routing_key;
    p.body = d.body;
    p.message_id = copy.props.message_id;
    p.content_type = copy.props.content_type;
    p.headers = copy.props.headers;
    p.mandatory = copy.props.mandatory;
    p.what = "fresh copy of " + (d.message_id.empty() ? std::string("(no id)") : d.message_id);
    if (log_requeue) spdlog::info("message {} requeued as a fresh copy", d.message_id.empty() ? "(no id)" : d.message_id);
    send(std::move(p));
  }

  void send(Publish p) {
    amqp::PublishProps props;
    props.message_id = p.message_id;
    props.headers = p.headers;
    props.mandatory = p.mandatory;
    props.content_type = p.content_type;
    std::uint64_t seq = 0;
    try {
      seq = client_.publish(p.exchange, p.routing_key, p.body, props);
    } catch (const amqp::AmqpError&) {
      ledger_.unsent(std::move(p));
      throw;
    }
    ledger_.sent(seq, std::move(p));
  }

  void on_confirm(const amqp::Confirm& c) {
    if (!c.ok) m_.publish_refused.inc();
    if (refusals_.note(ledger_.exchange_of(c.seq), c.ok)) {
      // A destination refuses everything on this channel (refusal_streaks.hpp):
      // a new connection (the next node) gets a fresh channel; what is
      // unconfirmed is published again there, as after any loss.
      spdlog::warn("worker {} region={}: the broker refused {} publishes in a row to one exchange on {}; reconnecting",
                   o_.worker_id, o_.region, refusals_.limit(), client_.redacted_url());
      client_.close();
      throw amqp::ConnectionLost("amqp: every publish refused (nack) on " + client_.redacted_url());
    }
    auto step = ledger_.confirmed(c, generation_);
    switch (step.kind) {
      case LedgerStep::Kind::nothing:
        return;
      case LedgerStep::Kind::settle_slot:
        return run(slots_.terminal_confirmed(step.slot, step.completed));
      case LedgerStep::Kind::ack_tag:
        return ack(step.tag);
      case LedgerStep::Kind::publish_again:
        return send(std::move(step.publish));
      case LedgerStep::Kind::requeue_slot:
        return run(slots_.settle(step.slot, Settle::requeue));
      case LedgerStep::Kind::return_tag:
        // The copy could not be written: the broker's own requeue is the last resort.
        client_.reject(step.tag, true);
        return release(step.tag);
    }
  }

  void release(std::uint64_t tag) {
    held_.erase(tag);
    gate_.finished(tag);
    m_.in_flight.set(static_cast<double>(held_.size()));
  }
  void ack(std::uint64_t tag) {
    client_.ack(tag);
    m_.acked.inc();
    release(tag);
  }

  WorkerOptions o_;
  amqp::Client client_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  infer::EndpointTable endpoints_;  // outlives every request that points into it
  std::shared_ptr<infer::FleetRateLimits> rate_limits_;
  infer::InferenceClient inference_;
  std::optional<RateLeaser> leaser_;
  Mailbox<PreflightItem> preflight_results_;
  Preflight preflight_;
  Mailbox<Completion> completions_;
  Mailbox<std::vector<ActiveLane>> lane_updates_;
  std::optional<LaneWatch> lane_watch_;
  WorkerMetrics m_;
  EndpointMetrics endpoint_metrics_;
  std::optional<metrics::MetricsServer> server_;
  std::thread io_thread_;

  std::string exec_queue_, control_queue_, exec_tag_, control_tag_;
  amqp::TopologyOptions topology_;
  // Refused confirms (nack or return) in a row per destination; see on_confirm.
  RefusalStreaks refusals_{50};
  std::uint64_t generation_ = 0;
  RecentOutcomes recent_;
  CancelMemory cancels_;
  SlotTable slots_;
  ConfirmLedger ledger_;
  LaneGate gate_;
  LaneConsumers lanes_;
  Clock::time_point lanes_retry_at_{};
  // Deliveries of the current connection not yet acked, by tag (a requeue
  // needs the body and headers for its fresh copy).
  std::unordered_map<std::uint64_t, amqp::Delivery> held_;
  bool draining_ = false;
  bool cancel_deferred_ = false;  // drain began while blocked: basic.cancel waits for the unblock
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
