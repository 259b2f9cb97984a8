#include "worker.hpp"

#include <map>
#include <optional>
#include <set>
#include <thread>

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

#include "preflight.hpp"

namespace beacon {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kDeadLetterBodyLimit = 64 * 1024;
constexpr int kMaxPublishTries = 5;

// One inference that finished (or was aborted) on the Asio thread.
struct Completion {
  std::uint64_t generation;
  std::uint64_t tag;
  ExecutionMessage message;
  std::string started_at;
  infer::InferenceOutcome outcome;
};

// A publish waiting for its confirm, and what to do with the delivery then.
struct AwaitingConfirm {
  std::uint64_t generation = 0;
  std::uint64_t tag = 0;        // delivery to ack on confirm; 0 = none (a `started` event)
  std::string exchange, routing_key, body, message_id;
  std::map<std::string, std::string> headers;
  int tries = 1;
  std::string what;             // for logs
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
  metrics::Counter& cancelled = r.counter("beacon_worker_cancelled_total", "Messages dropped for a cancelled job", q);
  metrics::Counter& completed = r.counter("beacon_worker_executions_completed_total", "Completed executions", q);
  metrics::Counter& failed = r.counter("beacon_worker_executions_failed_total", "Failed executions", q);
  metrics::Counter& reconnects = r.counter("beacon_worker_broker_reconnects_total", "Broker connections lost", q);
  metrics::Gauge& in_flight = r.gauge("beacon_worker_in_flight", "Messages held, not yet acknowledged", q);
};

std::string job_of_control_message(const std::string& body) {
  auto doc = json::parse(body);
  json::require_object(doc, "control message");
  if (json::get_string(doc, "type") != "cancel") throw BadInput("unknown control message type");
  return json::get_string(doc, "job_id");
}

class Worker {
 public:
  Worker(const WorkerOptions& o, infer::EndpointTable endpoints)
      : o_(o),
        client_(amqp::ClientOptions{o.amqp_url, "beacon-worker " + o.worker_id}),
        work_(io_.get_executor()),
        endpoints_(std::move(endpoints)),
        inference_(io_, endpoints_),
        preflight_(o.database_url, preflight_results_),
        m_(o.region) {
    exec_queue_ = amqp::exec_queue(o.region);
  }

  int run() {
    start_metrics();
    io_thread_ = std::thread([this] { io_.run(); });
    amqp::Backoff backoff(amqp::BackoffOptions{milliseconds(200), milliseconds(10000)});
    int rc = 0;
    while (true) {
      try {
        connect_broker();
        backoff.reset();
        serve();
        break;
      } catch (const amqp::AmqpError& e) {
        on_connection_lost(e.what());
        auto wait = backoff.next();
        spdlog::warn("reconnecting to the broker in {} ms", wait.count());
        if (!wait_for_reconnect(wait)) break;
      }
    }
    shutdown();
    return rc;
  }

 private:
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
    client_.connect();
    generation_ = client_.generation();
    auto topo = amqp::topology_options_from_env();
    amqp::declare_core(client_, topo);
    amqp::declare_region(client_, o_.region, topo);
    control_queue_ = client_.declare_temp_queue_bound_to(std::string(amqp::kControlExchange));
    client_.set_prefetch(static_cast<std::uint16_t>(std::min(o_.concurrency, 65535)));
    // Events whose confirm was lost with the old connection go out again:
    // their messages come back redelivered, and a stored result lets the
    // preflight skip the GPU.
    for (auto& a : orphans_) republish(std::move(a));
    orphans_.clear();
    control_tag_ = client_.consume(control_queue_);
    if (!draining_) exec_tag_ = client_.consume(exec_queue_);
    broker_ready_ = true;
    spdlog::info("worker {} consuming {} (concurrency {})", o_.worker_id, exec_queue_, o_.concurrency);
  }

  void on_connection_lost(const std::string& why) {
    broker_ready_ = false;
    m_.reconnects.inc();
    spdlog::warn("broker connection lost: {}", why);
    // Deliveries of the lost connection are back in the queue; forget them.
    held_ = 0;
    m_.in_flight.set(0);
    for (auto& [seq, a] : awaiting_)
      if (a.tag != 0) orphans_.push_back(std::move(a));
    for (auto& a : orphans_) a.tag = 0;
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
      if (draining_) {
        if (!aborted_ && Clock::now() >= drain_deadline_) {
          spdlog::warn("drain timeout: requeueing {} messages still in flight", held_);
          aborted_ = true;
          boost::asio::post(io_, [this] { inference_.abort_all(); });
        }
        if (held_ == 0 && awaiting_.empty()) return;
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

  void on_delivery(const amqp::Delivery& d) {
    if (d.consumer_tag == control_tag_) return on_control(d);
    m_.consumed.inc();
    hold();
    if (d.oversized) return dead_letter(d, "oversized message", {});
    ExecutionMessage msg;
    try {
      msg = decode_execution(d.body);
    } catch (const BadInput& e) {
      return dead_letter(d, e.what(), {});
    }
    if (msg.key.region != o_.region)
      return dead_letter(d, "message for region '" + msg.key.region + "' on " + exec_queue_, msg.key.log_context());
    if (cancelled_jobs_.count(msg.key.job_id)) return finish_cancelled(d.tag, msg);
    preflight_.submit(PreflightItem{generation_, d.tag, std::move(msg), d.redelivered, Verdict::run});
  }

  void on_control(const amqp::Delivery& d) {
    try {
      auto job = job_of_control_message(d.body);
      cancelled_jobs_.insert(job);
      spdlog::info("job={} cancelled: its queued messages will be dropped", job);
    } catch (const BadInput& e) {
      spdlog::error("ignoring a malformed control message: {}", e.what());
    }
    client_.ack(d.tag);
  }

  void on_preflight(PreflightItem p) {
    if (p.generation != generation_) return;  // its delivery died with the old connection
    const auto& key = p.message.key;
    if (p.verdict == Verdict::already_completed || (p.verdict == Verdict::run && draining_ && aborted_)) {
      if (p.verdict == Verdict::already_completed) {
        m_.skipped.inc();
        spdlog::info("{}: already completed, acked without inference", key.log_context());
        ack(p.tag);
      } else {
        requeue(p.tag, key);
      }
      return;
    }
    if (p.verdict == Verdict::job_cancelled || cancelled_jobs_.count(key.job_id)) {
      cancelled_jobs_.insert(key.job_id);
      return finish_cancelled(p.tag, p.message);
    }
    start_inference(p.tag, std::move(p.message));
  }

  void start_inference(std::uint64_t tag, ExecutionMessage msg) {
    const auto* ep = inference_endpoint(msg.key);
    auto started_at = now_rfc3339();
    if (!ep) {
      ResultEvent e = base_event(EventKind::failed, msg, started_at);
      e.error = ErrorInfo{"no_endpoint", "no endpoint configured for region '" + msg.key.region + "' and model '" +
                                              msg.key.model_id + "'"};
      spdlog::error("{}: {}", msg.key.log_context(), e.error->message);
      m_.failed.inc();
      return publish_event(e, tag);
    }
    publish_event(base_event(EventKind::started, msg, started_at), 0);
    infer::InferenceRequest req;
    req.model_id = msg.key.model_id;
    req.region = msg.key.region;
    req.system_prompt = render_system_prompt(msg.system_prompt, msg.key.region, msg.key.model_id);
    req.prompt = msg.prompt;
    req.params_json = msg.params_json;
    auto generation = generation_;
    boost::asio::post(io_, [this, ep, req = std::move(req), generation, tag, msg = std::move(msg), started_at]() mutable {
      inference_.submit(*ep, std::move(req),
                        [this, generation, tag, msg = std::move(msg), started_at](infer::InferenceOutcome out) mutable {
                          completions_.put(Completion{generation, tag, std::move(msg), started_at, std::move(out)});
                        });
    });
  }

  const infer::EndpointConfig* inference_endpoint(const ExecutionKey& key) {
    return endpoints_.find(key.region, key.model_id);
  }

  void on_completion(Completion c) {
    const auto& key = c.message.key;
    bool current = c.generation == generation_;
    if (c.outcome.aborted) {
      // Shutdown before an answer: never a failure, the message goes back.
      if (current) requeue(c.tag, key);
      return;
    }
    ResultEvent e = base_event(c.outcome.ok ? EventKind::completed : EventKind::failed, c.message, c.started_at);
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
    publish_event(e, current ? c.tag : 0);
  }

  void finish_cancelled(std::uint64_t tag, const ExecutionMessage& msg) {
    m_.cancelled.inc();
    auto e = base_event(EventKind::cancelled, msg, "");
    e.completed_at = now_rfc3339();
    e.error = ErrorInfo{"cancelled", "job cancelled before this execution ran"};
    publish_event(e, tag);
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

  // ---- publishing with confirms, then acking ----------------------------
  void publish_event(const ResultEvent& e, std::uint64_t tag) {
    AwaitingConfirm a;
    a.generation = generation_;
    a.tag = tag;
    a.exchange = std::string(amqp::kResultsExchange);
    a.routing_key = std::string(amqp::kResultsRoutingKey);
    a.body = encode(e);
    a.message_id = e.key.message_id() + "/" + std::string(to_string(e.event));
    a.what = e.key.log_context() + " event=" + std::string(to_string(e.event));
    send(std::move(a));
  }

  void dead_letter(const amqp::Delivery& d, const std::string& reason, const std::string& context) {
    spdlog::error("dead-lettering a message from {}: {}{}{}", exec_queue_, reason, context.empty() ? "" : " ",
                  context);
    m_.dead.inc();
    AwaitingConfirm a;
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
    props.mandatory = a.exchange != std::string(amqp::kDeadExchange);
    auto seq = client_.publish(a.exchange, a.routing_key, a.body, props);
    awaiting_.emplace(seq, std::move(a));
  }

  void republish(AwaitingConfirm a) {
    a.generation = generation_;
    send(std::move(a));
  }

  void on_confirm(const amqp::Confirm& c) {
    auto it = awaiting_.find(c.seq);
    if (it == awaiting_.end()) return;
    AwaitingConfirm a = std::move(it->second);
    awaiting_.erase(it);
    if (c.ok) {
      if (a.tag != 0 && a.generation == generation_) ack(a.tag);
      return;
    }
    if (a.tries < kMaxPublishTries) {
      spdlog::warn("broker refused {} ({}); publishing again", a.what, c.reason);
      ++a.tries;
      return send(std::move(a));
    }
    spdlog::error("broker refused {} {} times ({}); message requeued", a.what, a.tries, c.reason);
    if (a.tag != 0 && a.generation == generation_) requeue(a.tag, ExecutionKey{});
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
  std::optional<metrics::MetricsServer> server_;
  std::thread io_thread_;

  std::string exec_queue_, control_queue_, exec_tag_, control_tag_;
  std::uint64_t generation_ = 0;
  std::map<std::uint64_t, AwaitingConfirm> awaiting_;
  std::vector<AwaitingConfirm> orphans_;
  std::set<std::string> cancelled_jobs_;
  std::size_t held_ = 0;
  bool draining_ = false;
  bool aborted_ = false;
  Clock::time_point drain_deadline_{};
  std::atomic<bool> broker_ready_{false};
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
  Worker worker(options, std::move(endpoints));
  return worker.run();
}

}  // namespace beacon
