#include <beacon/infer/inference_client.hpp>

#include <atomic>
#include <mutex>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include <beacon/core/errors.hpp>
#include <beacon/infer/asio.hpp>
#include <beacon/infer/auth.hpp>
#include <beacon/infer/cancellation.hpp>
#include <beacon/infer/http_client.hpp>
#include <beacon/infer/retry.hpp>

namespace beacon::infer {

namespace {

using Clock = std::chrono::steady_clock;
using Strand = net::strand<net::io_context::executor_type>;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::chrono::milliseconds from_seconds(double s) {
  return std::chrono::milliseconds(static_cast<long long>(s * 1000.0));
}

// A request waiting for its turn: pump() grants it a slot by cancelling the
// timer it waits on (the timer never expires by itself).
struct Waiter {
  explicit Waiter(const Strand& strand) : timer(strand, Clock::time_point::max()) {}
  net::steady_timer timer;
  bool granted = false;
  Permit permit = Permit::denied;
};

struct Job {
  std::uint64_t seq = 0;  // submission order: the queue position, kept across retries
  Cancellation cancel;
  const InferenceRequest* request = nullptr;  // for cancel_queued()
  bool on_wire = false;                       // an attempt is being sent or answered
  bool dropped = false;                       // ended by cancel_queued(), not by shutdown
};

// How an attempt bears on the endpoint's health (the circuit breaker).
enum class Health { up, down, unknown };

struct AttemptResult {
  Verdict verdict = Verdict::fail;
  Health health = Health::unknown;
  bool aborted = false;
  int http_status = 0;
  ErrorInfo error;
  std::optional<std::chrono::milliseconds> retry_after;
  ParsedResponse parsed;
};

AttemptResult evaluate(const HttpResult& result, Protocol protocol, const std::string& endpoint) {
  AttemptResult r;
  if (const auto* err = std::get_if<HttpError>(&result)) {
    r.aborted = err->kind == "aborted";
    r.verdict = classify_transport_error(err->kind);
    r.health = r.verdict == Verdict::retry ? Health::down : Health::unknown;
    r.error = {err->kind, err->message};
    return r;
  }
  const auto& resp = std::get<HttpResponse>(result);
  r.http_status = resp.status;
  r.verdict = classify_http_status(resp.status);
  r.health = r.verdict == Verdict::retry ? Health::down : Health::up;  // any other answer: the server is alive
  if (r.verdict == Verdict::success) {
    r.parsed = parse_response(protocol, resp.body);
    if (!r.parsed.ok) {
      r.verdict = Verdict::fail;
      r.error = r.parsed.error;
    }
    return r;
  }
  r.error = {"http", "HTTP " + std::to_string(resp.status) + " from " + endpoint + ": " + body_excerpt(resp.body)};
  if (auto it = resp.headers.find("retry-after"); it != resp.headers.end()) {
    r.retry_after = parse_retry_after(it->second, std::chrono::system_clock::now());
  }
  return r;
}

}  // namespace

struct InferenceClient::Impl : std::enable_shared_from_this<Impl> {
  // Everything an endpoint needs; lives on the strand, never erased.
  struct Endpoint {
    Endpoint(const EndpointConfig& c, const Strand& strand)
        : config(c),
          breaker(c.circuit_failure_threshold, from_seconds(c.circuit_open_s)),
          probe_timer(strand),
          authorization(authorization_header(c)),
          label(c.parsed_url.redacted()) {}
    EndpointConfig config;
    CircuitBreaker breaker;
    std::size_t in_flight = 0;
    std::map<std::uint64_t, Waiter*> waiting;  // by Job::seq: FIFO by submission
    net::steady_timer probe_timer;             // wakes the queue when an open circuit may probe
    bool probe_timer_armed = false;
    std::string authorization;  // secret
    std::string label;          // redacted URL: logs and stats
    std::string stats_key;
  };

  Impl(net::io_context& ioc, EndpointTable t, Options options)
      : strand(net::make_strand(ioc)), table(std::move(t)), http(net::any_io_executor(strand)) {
    // Every entry of the table is known (and visible in stats()) from the
    // start; endpoints passed to submit() from elsewhere are added on first use.
    for (const auto& entry : table.entries()) endpoint_for(entry);
    random01 = std::move(options.random01);
    if (!random01) {
      random01 = [rng = std::mt19937_64(std::random_device{}())]() mutable {
        return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      };
    }
  }

  Strand strand;
  EndpointTable table;
  HttpClient http;
  std::function<double()> random01;
  std::function<void(const AttemptEvent&)> observer;

  // Read from any thread.
  std::atomic<std::size_t> in_flight_total{0};
  std::atomic<std::size_t> pending_total{0};
  std::atomic<std::uint64_t> next_seq{0};

  // Strand only.
  bool aborting = false;
  std::set<Job*> jobs;
  std::map<std::string, std::unique_ptr<Endpoint>> endpoints;

  mutable std::mutex stats_mutex;
  std::map<std::string, EndpointStats> stats;  // by Endpoint::stats_key

  template <typename F>
  void update_stats(const Endpoint& ep, F&& f) {
    std::lock_guard lock(stats_mutex);
    EndpointStats& s = stats[ep.stats_key];
    f(s);
    s.in_flight = ep.in_flight;
    s.circuit = ep.breaker.state();
  }

  Endpoint& endpoint_for(const EndpointConfig& config) {
    std::string key = config.region + '\x1f' + config.model + '\x1f' + config.url;
    auto& slot = endpoints[key];
    if (!slot) {
      slot = std::make_unique<Endpoint>(config, strand);
      slot->stats_key = key;
      std::lock_guard lock(stats_mutex);
      EndpointStats& s = stats[key];
      s.endpoint = slot->label;
      s.region = config.region;
      s.model = config.model;
    }
    return *slot;
  }

  // Hands free slots to waiting requests in submission order, as far as
  // max_in_flight and the circuit allow.
  void pump(Endpoint& ep) {
    while (!ep.waiting.empty() && ep.in_flight < static_cast<std::size_t>(ep.config.max_in_flight)) {
      const Permit permit = ep.breaker.acquire(Clock::now());
      if (permit == Permit::denied) {
        arm_probe_timer(ep);
        break;
      }
      auto first = ep.waiting.begin();
      Waiter* w = first->second;
      ep.waiting.erase(first);
      ++ep.in_flight;
      w->granted = true;
      w->permit = permit;
      w->timer.cancel();
    }
    update_stats(ep, [](EndpointStats&) {});
  }

  // While the circuit is open, requests wait for its probe time; nothing
  // else would wake them, since no request is in flight to finish.
  void arm_probe_timer(Endpoint& ep) {
    auto when = ep.breaker.probe_at();
    if (!when || ep.probe_timer_armed) return;
    ep.probe_timer_armed = true;
    ep.probe_timer.expires_at(*when);
    ep.probe_timer.async_wait([weak = weak_from_this(), &ep](error_code ec) {
      auto self = weak.lock();
      if (!self) return;
      ep.probe_timer_armed = false;
      if (!ec) self->pump(ep);
    });
  }

  void release(Endpoint& ep, Permit permit, Health health) {
    --ep.in_flight;
    const CircuitState before = ep.breaker.state();
    switch (health) {
      case Health::up:
        ep.breaker.on_success();
        break;
      case Health::down:
        ep.breaker.on_failure(Clock::now());
        break;
      case Health::unknown:
        ep.breaker.on_neutral(permit);
        break;
    }
    const CircuitState after = ep.breaker.state();
    if (after == CircuitState::open && before != CircuitState::open) {
      spdlog::warn("endpoint {} ({}/{}): circuit open after {} consecutive failures; probing again in {} s",
                   ep.label, ep.config.region, ep.config.model, ep.breaker.consecutive_failures(),
                   ep.config.circuit_open_s);
      update_stats(ep, [](EndpointStats& s) { ++s.circuit_opened; });
    } else if (after == CircuitState::closed && before != CircuitState::closed) {
      spdlog::info("endpoint {} ({}/{}): circuit closed, endpoint answers again", ep.label, ep.config.region,
                   ep.config.model);
    }
    pump(ep);
  }

  // Waits for a slot on the endpoint; Permit::denied only when cancelled.
  net::awaitable<Permit> acquire(Endpoint& ep, Job& job) {
    if (job.cancel.cancelled()) co_return Permit::denied;
    Waiter w(strand);
    ep.waiting.emplace(job.seq, &w);
    pump(ep);
    if (!w.granted) {
      update_stats(ep, [](EndpointStats& s) { ++s.queued; });
      {
        HookGuard hook(&job.cancel, [&w] { w.timer.cancel(); });
        error_code ec;
        co_await w.timer.async_wait(net::redirect_error(net::use_awaitable, ec));
      }
      update_stats(ep, [](EndpointStats& s) { --s.queued; });
    }
    if (!w.granted) {
      ep.waiting.erase(job.seq);
      co_return Permit::denied;
    }
    if (job.cancel.cancelled()) {  // granted and aborted in the same turn: give the slot back
      release(ep, w.permit, Health::unknown);
      co_return Permit::denied;
    }
    co_return w.permit;
  }

  // Backoff; false when cancelled.
  net::awaitable<bool> sleep(Endpoint& ep, Job& job, std::chrono::milliseconds delay) {
    if (job.cancel.cancelled()) co_return false;
    net::steady_timer timer(strand, delay);
    update_stats(ep, [](EndpointStats& s) { ++s.queued; });
    {
      HookGuard hook(&job.cancel, [&timer] { timer.cancel(); });
      error_code ec;
      co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    update_stats(ep, [](EndpointStats& s) { --s.queued; });
    co_return !job.cancel.cancelled();
  }

  net::awaitable<void> attempts(Endpoint& ep, Job& job, const InferenceRequest& req, InferenceOutcome& out) {
    const EndpointConfig& cfg = ep.config;
    WireRequest wire;
    try {
      wire = build_request(cfg, req);
    } catch (const BadInput& e) {
      out.error = ErrorInfo{"bad_message", e.what()};
      co_return;
    }
    HttpRequest http_req;
    http_req.url = wire.url;
    http_req.body = std::move(wire.body);
    http_req.authorization = ep.authorization;
    HttpOptions opt;
    opt.connect_timeout = from_seconds(cfg.connect_timeout_s);
    opt.total_timeout = from_seconds(cfg.timeout_s);
    opt.max_response_bytes = cfg.max_response_bytes;
    opt.ca_file = cfg.ca_file;
    opt.max_idle_connections = static_cast<std::size_t>(cfg.max_in_flight);
    opt.redirect_hosts = cfg.redirect_hosts;
    out.receipt.endpoint = wire.url.redacted();
    const BackoffPolicy policy{cfg.backoff_initial_ms, cfg.backoff_max_ms};

    // `sent` counts requests (executions.attempts); `charged` counts the
    // failures that use up max_attempts. A failed circuit probe is charged
    // to the circuit, never to the execution (SPEC decisions: an outage of
    // any length fails nothing): an open circuit only ever lets probes out,
    // so however long the endpoint stays away, the attempts an execution
    // spends are the ones it sent while the circuit was closed.
    int charged = 0;
    for (int sent = 1;; ++sent) {
      const Permit permit = co_await acquire(ep, job);
      if (permit == Permit::denied) {
        out.aborted = true;
        co_return;
      }
      const int attempt = sent;
      out.attempts = sent;
      ++in_flight_total;
      update_stats(ep, [](EndpointStats& s) { ++s.requests; });
      const auto t0 = Clock::now();
      job.on_wire = true;
      HttpResult result = co_await http.request(http_req, opt, &job.cancel);
      job.on_wire = false;
      const double latency = ms_since(t0);
      --in_flight_total;

      AttemptResult r = evaluate(result, cfg.protocol, out.receipt.endpoint);
      release(ep, permit, r.aborted ? Health::unknown : r.health);
      if (r.aborted || job.cancel.cancelled()) {
        out.aborted = true;
        co_return;
      }
      const bool probe = permit == Permit::probe;
      if (r.verdict == Verdict::retry && !probe) ++charged;
      const bool will_retry = r.verdict == Verdict::retry && (probe || charged < cfg.max_attempts);
      if (probe && r.verdict == Verdict::retry) {
        // The failed probe goes behind the requests that waited with it, so
        // the next probe is another one: a request that fails on its own
        // (a prompt the server chokes on) cannot hold the circuit open for
        // the rest of the queue. Outside outages it is charged as usual.
        job.seq = next_seq++;
      }
      update_stats(ep, [&](EndpointStats& s) {
        if (r.http_status != 0) {
          ++s.responses_by_status[r.http_status];
          ++s.latency_count;
          s.latency_sum_ms += latency;
          if (s.recent_latency_ms.size() >= EndpointStats::kRecentLatencies) {
            s.recent_latency_ms.erase(s.recent_latency_ms.begin());
          }
          s.recent_latency_ms.push_back(latency);
        }
        if (r.verdict != Verdict::success) ++s.errors_by_kind[r.error.kind];
        if (will_retry) ++s.retries;
      });
      notify(ep, attempt, r, latency, will_retry);

      out.receipt.http_status = r.http_status;
      if (r.verdict == Verdict::success) {
        out.ok = true;
        out.output = std::move(r.parsed.output);
        out.receipt.provider_id = std::move(r.parsed.provider_id);
        out.receipt.provider_receipt_json = std::move(r.parsed.provider_receipt_json);
        out.receipt.latency_ms = latency;
        co_return;
      }
      if (!will_retry) {
        out.error = std::move(r.error);
        co_return;
      }
      const auto delay = backoff_delay(attempt, policy, r.retry_after, random01());
      spdlog::debug("inference request {} to {} failed ({}: {}; {} of {} attempts used{}); retrying in {} ms", attempt,
                    ep.label, r.error.kind, r.error.message, charged, cfg.max_attempts,
                    probe ? ", a circuit probe: not charged" : "", delay.count());
      if (!co_await sleep(ep, job, delay)) {
        out.aborted = true;
        co_return;
      }
    }
  }

  void notify(const Endpoint& ep, int attempt, const AttemptResult& r, double latency, bool will_retry) {
    if (!observer) return;
    AttemptEvent e;
    e.endpoint = ep.label;
    e.region = ep.config.region;
    e.model = ep.config.model;
    e.attempt = attempt;
    e.http_status = r.http_status;
    e.error_kind = r.verdict == Verdict::success ? "" : r.error.kind;
    e.latency_ms = latency;
    e.will_retry = will_retry;
    try {
      observer(e);
    } catch (const std::exception& ex) {
      spdlog::error("inference attempt observer threw: {}", ex.what());
    }
  }

  static net::awaitable<void> run(std::shared_ptr<Impl> self, EndpointConfig config, InferenceRequest req,
                                  std::function<void(InferenceOutcome)> done) {
    InferenceOutcome out;
    Job job;
    job.seq = self->next_seq++;
    job.request = &req;
    Endpoint& ep = self->endpoint_for(config);
    if (self->aborting) {
      out.aborted = true;
    } else {
      self->jobs.insert(&job);
      try {
        co_await self->attempts(ep, job, req, out);
      } catch (const std::exception& e) {
        // Not expected: every error is a value below. Still, `done` must run.
        spdlog::error("inference to {} failed unexpectedly: {}", ep.label, e.what());
        out.ok = false;
        out.error = ErrorInfo{"internal", e.what()};
      }
      self->jobs.erase(&job);
    }
    if (out.aborted && job.dropped) {
      out.aborted = false;
      out.cancelled = true;
      out.ok = false;
      out.error = ErrorInfo{"cancelled", "job cancelled before this request reached the endpoint"};
    } else if (out.aborted) {
      out.ok = false;
      out.error = ErrorInfo{"cancelled", "inference aborted by shutdown"};
    }
    self->update_stats(ep, [&](EndpointStats& s) {
      if (out.aborted || out.cancelled) {
        ++s.aborted;
      } else if (out.ok) {
        ++s.succeeded;
      } else {
        ++s.failed;
      }
    });
    --self->pending_total;
    try {
      done(std::move(out));
    } catch (const std::exception& e) {
      spdlog::error("inference completion handler threw: {}", e.what());
    }
  }

  void abort_all() {
    aborting = true;
    // Cancelling only runs hooks (timer cancels, socket closes); the jobs
    // resume later, so the set does not change under the loop.
    for (Job* job : jobs) job->cancel.cancel();
    http.close_idle();
  }

  void cancel_queued(const std::function<bool(const InferenceRequest&)>& match) {
    for (Job* job : jobs) {
      if (job->on_wire || job->cancel.cancelled() || !job->request || !match(*job->request)) continue;
      job->dropped = true;
      job->cancel.cancel();  // ends its wait for a slot or a backoff; it resumes later
    }
  }
};

InferenceClient::InferenceClient(boost::asio::io_context& ioc, EndpointTable table)
    : InferenceClient(ioc, std::move(table), Options{}) {}

InferenceClient::InferenceClient(boost::asio::io_context& ioc, EndpointTable table, Options options)
    : impl_(std::make_shared<Impl>(ioc, std::move(table), std::move(options))) {}

InferenceClient::~InferenceClient() {
  // Pending coroutines keep Impl alive; make them end instead of waiting on
  // endpoints nobody will read the answers of.
  net::post(impl_->strand, [impl = impl_] { impl->abort_all(); });
}

const EndpointTable& InferenceClient::table() const { return impl_->table; }

void InferenceClient::submit(const EndpointConfig& ep, InferenceRequest req,
                             std::function<void(InferenceOutcome)> done) {
  ++impl_->pending_total;
  net::co_spawn(impl_->strand, Impl::run(impl_, ep, std::move(req), std::move(done)), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("inference coroutine ended with an exception: {}", ex.what());
    }
  });
}

void InferenceClient::abort_all() {
  net::post(impl_->strand, [impl = impl_] { impl->abort_all(); });
}

void InferenceClient::cancel_queued(std::function<bool(const InferenceRequest&)> match) {
  net::post(impl_->strand, [impl = impl_, match = std::move(match)] { impl->cancel_queued(match); });
}

std::size_t InferenceClient::in_flight() const { return impl_->in_flight_total.load(); }

std::size_t InferenceClient::pending() const { return impl_->pending_total.load(); }

std::vector<EndpointStats> InferenceClient::stats() const {
  std::lock_guard lock(impl_->stats_mutex);
  std::vector<EndpointStats> out;
  out.reserve(impl_->stats.size());
  for (const auto& [key, s] : impl_->stats) out.push_back(s);
  return out;
}

void InferenceClient::set_attempt_observer(std::function<void(const AttemptEvent&)> observer) {
  net::post(impl_->strand, [impl = impl_, observer = std::move(observer)]() mutable {
    impl->observer = std::move(observer);
  });
}

}  // namespace beacon::infer
