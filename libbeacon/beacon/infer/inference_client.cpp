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
#include <beacon/infer/aimd.hpp>
#include <beacon/infer/http_client.hpp>
#include <beacon/infer/retry.hpp>
#include <beacon/infer/server_limits.hpp>
#include <beacon/infer/token_estimate.hpp>

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
  double tokens = 0;         // estimated tokens of the request (fleet-wide tokens_per_minute)
  bool quota_probe = false;  // granted as the probe of a quota-paused endpoint
};

// One fleet-wide limit as this process sees it (several entries may share
// it: same url and api key), strand only: the quota pause and the server's
// published budget.
struct LimitGate {
  std::string key;
  std::string label;
  bool quota_paused = false;
  bool quota_probe_out = false;
  Clock::time_point quota_probe_at{};
  double quota_probe_s = 60;
  // From x-ratelimit-remaining-* of the latest response; decremented per send.
  std::optional<long long> server_requests;
  Clock::time_point server_requests_reset{};
  std::optional<double> server_tokens;
  Clock::time_point server_tokens_reset{};
};

struct Job {
  std::uint64_t seq = 0;  // submission order: the queue position, kept across retries
  Cancellation cancel;
  const InferenceRequest* request = nullptr;  // for cancel_queued()
  bool on_wire = false;                       // an attempt is being sent or answered
  bool dropped = false;                       // ended by cancel_queued(), not by shutdown
  double tokens = 0;                          // estimated tokens (estimate_tokens)
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
  bool quota = false;         // a quota-exhausted 429: pause the endpoint, charge nothing
  bool overload = false;      // 429, 503 or a timeout: the auto in-flight cap halves
  PublishedLimits published;  // x-ratelimit-* headers of the response
};

AttemptResult evaluate(const HttpResult& result, Protocol protocol, const std::string& endpoint) {
  AttemptResult r;
  if (const auto* err = std::get_if<HttpError>(&result)) {
    r.aborted = err->kind == ErrorKind::aborted;
    r.verdict = classify_transport_error(err->kind);
    r.health = r.verdict == Verdict::retry ? Health::down : Health::unknown;
    r.error = {err->kind, err->message};
    r.overload = err->kind == ErrorKind::timeout;
    return r;
  }
  const auto& resp = std::get<HttpResponse>(result);
  r.http_status = resp.status;
  r.published = parse_published_limits(resp.headers);
  r.quota = is_quota_exhausted(resp.status, resp.body);
  r.overload = !r.quota && (resp.status == 429 || resp.status == 503);
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
  r.error = {ErrorKind::http, "HTTP " + std::to_string(resp.status) + " from " + endpoint + ": " + body_excerpt(resp.body)};
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
          label(c.parsed_url.redacted()),
          wake_timer(strand) {
      if (c.auto_in_flight) aimd.emplace(c.min_in_flight, c.max_in_flight_limit);
    }
    EndpointConfig config;
    CircuitBreaker breaker;
    std::optional<Aimd> aimd;  // max_in_flight: "auto"
    LimitGate* gate = nullptr;
    std::size_t cap() const {
      return static_cast<std::size_t>(aimd ? aimd->limit() : config.max_in_flight);
    }
    std::size_t in_flight = 0;
    std::map<std::uint64_t, Waiter*> waiting;  // by Job::seq: FIFO by submission
    net::steady_timer probe_timer;             // wakes the queue when an open circuit may probe
    bool probe_timer_armed = false;
    std::string authorization;  // secret
    std::string label;          // redacted URL: logs and stats
    std::string stats_key;
    // Wakes the queue when capacity (fleet-wide, the server's budget, the
    // quota probe) may be there again; armed for the earliest such time.
    net::steady_timer wake_timer;
    std::optional<Clock::time_point> wake_at;
  };

  Impl(net::io_context& ioc, EndpointTable t, Options options)
      : strand(net::make_strand(ioc)), table(std::move(t)), http(net::any_io_executor(strand)) {
    // Every entry of the table is known (and visible in stats()) from the
    // start; endpoints passed to submit() from elsewhere are added on first use.
    rate_limits = options.rate_limits ? options.rate_limits : std::make_shared<FleetRateLimits>();
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
  std::shared_ptr<FleetRateLimits> rate_limits;
  std::map<std::string, std::unique_ptr<LimitGate>> gates;  // by limit_key; strand only

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
    s.quota_exhausted = ep.gate->quota_paused;
    s.in_flight_limit = static_cast<int>(ep.cap());
  }

  Endpoint& endpoint_for(const EndpointConfig& config) {
    std::string key = config.region + '\x1f' + config.model + '\x1f' + config.url;
    auto& slot = endpoints[key];
    if (!slot) {
      slot = std::make_unique<Endpoint>(config, strand);
      slot->stats_key = key;
      auto& gate = gates[config.limit_key];
      if (!gate) {
        gate = std::make_unique<LimitGate>();
        gate->key = config.limit_key;
        gate->label = slot->label;
        gate->quota_probe_s = config.quota_probe_s;
        rate_limits->configure(config.limit_key,
                               {static_cast<double>(config.requests_per_minute),
                                static_cast<double>(config.tokens_per_minute)},
                               slot->label);
      }
      slot->gate = gate.get();
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
    LimitGate& gate = *ep.gate;
    const bool limited = rate_limits->limited(gate.key);
    while (!ep.waiting.empty() && ep.in_flight < ep.cap()) {
      const auto now = Clock::now();
      Waiter* w = ep.waiting.begin()->second;
      bool quota_probe = false;
      if (gate.quota_paused) {
        // Paused by an exhausted quota: only one probe now and then.
        if (gate.quota_probe_out || now < gate.quota_probe_at) {
          if (!gate.quota_probe_out) arm_wake(ep, gate.quota_probe_at);
          break;
        }
        quota_probe = true;
      }
      if (!held_by_server(ep, *w, now)) break;
      const Permit permit = ep.breaker.acquire(now);
      if (permit == Permit::denied) {
        arm_probe_timer(ep);
        break;
      }
      Clock::time_point retry_at{};
      if (limited && !rate_limits->try_take(gate.key, w->tokens, now, retry_at)) {
        ep.breaker.on_neutral(permit);  // a probe slot taken for nothing is given back
        update_stats(ep, [](EndpointStats& s) { ++s.rate_limited; });
        arm_wake(ep, retry_at);
        break;
      }
      if (gate.server_requests) --*gate.server_requests;
      if (gate.server_tokens) *gate.server_tokens -= w->tokens;
      if (quota_probe) gate.quota_probe_out = true;
      ep.waiting.erase(ep.waiting.begin());
      ++ep.in_flight;
      w->granted = true;
      w->permit = permit;
      w->quota_probe = quota_probe;
      w->timer.cancel();
    }
    if (limited) {
      double tokens = 0;
      for (const auto& [seq, w] : ep.waiting) tokens += w->tokens;
      rate_limits->set_demand(gate.key, ep.stats_key, ep.waiting.size(), tokens);
    }
    update_stats(ep, [](EndpointStats&) {});
  }

  // The server's published budget (x-ratelimit-remaining-*): false while it
  // is spent and its reset has not come; the queue wakes at the reset.
  bool held_by_server(Endpoint& ep, const Waiter& w, Clock::time_point now) {
    LimitGate& gate = *ep.gate;
    if (gate.server_requests && now >= gate.server_requests_reset) gate.server_requests.reset();
    if (gate.server_tokens && now >= gate.server_tokens_reset) gate.server_tokens.reset();
    std::optional<Clock::time_point> until;
    if (gate.server_requests && *gate.server_requests <= 0) until = gate.server_requests_reset;
    if (gate.server_tokens && *gate.server_tokens < w.tokens) {
      until = std::max(until.value_or(now), gate.server_tokens_reset);
    }
    if (!until) return true;
    update_stats(ep, [](EndpointStats& s) { ++s.server_limited; });
    arm_wake(ep, *until);
    return false;
  }

  // Reads a response's published limits into the gate. Until the known
  // reset passes the lowest count wins: an answer's count may be older than
  // requests the server received since (others of ours still on the wire).
  void note_published(LimitGate& gate, const PublishedLimits& p, Clock::time_point now) {
    constexpr auto kDefaultReset = std::chrono::seconds(1);  // a remaining count without its reset
    if (p.remaining_requests) {
      const auto reset = now + p.reset_requests.value_or(kDefaultReset);
      if (gate.server_requests && now < gate.server_requests_reset) {
        gate.server_requests = std::min(*gate.server_requests, *p.remaining_requests);
        gate.server_requests_reset = std::max(gate.server_requests_reset, reset);
      } else {
        gate.server_requests = *p.remaining_requests;
        gate.server_requests_reset = reset;
      }
    }
    if (p.remaining_tokens) {
      const auto reset = now + p.reset_tokens.value_or(kDefaultReset);
      const double remaining = static_cast<double>(*p.remaining_tokens);
      if (gate.server_tokens && now < gate.server_tokens_reset) {
        gate.server_tokens = std::min(*gate.server_tokens, remaining);
        gate.server_tokens_reset = std::max(gate.server_tokens_reset, reset);
      } else {
        gate.server_tokens = remaining;
        gate.server_tokens_reset = reset;
      }
    }
  }

  // Wakes the endpoint's queue at `when` (the earliest of the times asked for).
  void arm_wake(Endpoint& ep, Clock::time_point when) {
    if (ep.wake_at && *ep.wake_at <= when) return;
    ep.wake_at = when;
    ep.wake_timer.expires_at(when);
    ep.wake_timer.async_wait([weak = weak_from_this(), &ep, when](error_code ec) {
      auto self = weak.lock();
      if (!self || ec) return;
      if (ep.wake_at && *ep.wake_at == when) ep.wake_at.reset();
      self->pump(ep);
    });
  }

  void pump_gate(const LimitGate& gate) {
    for (auto& [key, ep] : endpoints) {
      if (ep->gate == &gate) pump(*ep);
    }
  }

  // A quota-exhausted 429, or the answer to a quota probe.
  void quota_outcome(Endpoint& ep, bool was_probe, bool quota, bool aborted) {
    LimitGate& gate = *ep.gate;
    if (was_probe) gate.quota_probe_out = false;
    if (aborted) return;
    const auto now = Clock::now();
    if (quota) {
      if (!gate.quota_paused) {
        gate.quota_paused = true;
        spdlog::error(
            "endpoint {} ({}/{}): quota exhausted (HTTP 429 insufficient_quota / billing limit): sending is paused, "
            "nothing is marked failed, messages wait; add credit or raise the billing limit of this API key (or "
            "point the entry at another key and send SIGHUP). Probing every {} s; resumes by itself when the quota "
            "returns",
            ep.label, ep.config.region, ep.config.model, gate.quota_probe_s);
      }
      if (was_probe || gate.quota_probe_at <= now) {
        gate.quota_probe_at = now + from_seconds(gate.quota_probe_s);
      }
      arm_wake(ep, gate.quota_probe_at);
    } else if (gate.quota_paused) {
      gate.quota_paused = false;
      spdlog::info("endpoint {} ({}/{}): quota available again, sending resumes", ep.label, ep.config.region,
                   ep.config.model);
      pump_gate(gate);
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

  // `sent_at` orders the outcome among the others (circuit_breaker.hpp).
  void release(Endpoint& ep, Permit permit, Health health, Clock::time_point sent_at) {
    --ep.in_flight;
    const CircuitState before = ep.breaker.state();
    switch (health) {
      case Health::up:
        ep.breaker.on_success(sent_at);
        break;
      case Health::down:
        ep.breaker.on_failure(Clock::now(), sent_at);
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
  net::awaitable<Permit> acquire(Endpoint& ep, Job& job, bool& quota_probe) {
    quota_probe = false;
    if (job.cancel.cancelled()) co_return Permit::denied;
    Waiter w(strand);
    w.tokens = job.tokens;
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
      if (w.quota_probe) ep.gate->quota_probe_out = false;
      release(ep, w.permit, Health::unknown, Clock::now());
      co_return Permit::denied;
    }
    quota_probe = w.quota_probe;
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
      out.error = ErrorInfo{ErrorKind::bad_message, e.what()};
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
    job.tokens = estimate_tokens(req);
    for (int sent = 1;; ++sent) {
      bool quota_probe = false;
      const Permit permit = co_await acquire(ep, job, quota_probe);
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
      const auto now = Clock::now();
      if (r.published.any()) note_published(*ep.gate, r.published, now);
      account_tokens(ep, job, r);
      if (ep.aimd && !r.aborted) {
        if (r.overload) {
          if (ep.aimd->on_overload(t0, now)) {
            spdlog::debug("endpoint {}: overloaded ({}); in-flight cap now {}", ep.label, r.error.message,
                          ep.aimd->limit());
          }
        } else if (r.verdict == Verdict::success) {
          ep.aimd->on_success();
        }
      }
      // A quota-exhausted 429 says nothing about the server's health and
      // costs the execution nothing: it waits for the quota like the others.
      quota_outcome(ep, quota_probe, r.quota, r.aborted);  // before release() pumps the queue
      release(ep, permit, r.aborted ? Health::unknown : (r.quota ? Health::unknown : r.health), t0);
      if (r.aborted || job.cancel.cancelled()) {
        out.aborted = true;
        co_return;
      }
      const bool probe = permit == Permit::probe || r.quota;
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
      if (r.quota) continue;  // back in the queue, behind the others: the pause decides when it goes
      const auto delay = backoff_delay(attempt, policy, r.retry_after, random01());
      spdlog::debug("inference request {} to {} failed ({}: {}; {} of {} attempts used{}); retrying in {} ms", attempt,
                    ep.label, to_string(r.error.kind), r.error.message, charged, cfg.max_attempts,
                    probe ? ", a circuit probe: not charged" : "", delay.count());
      if (!co_await sleep(ep, job, delay)) {
        out.aborted = true;
        co_return;
      }
    }
  }

  // The fleet-wide token count: a request that was answered costs what its
  // usage says (the estimate was taken before sending); one that was not
  // answered costs nothing.
  void account_tokens(Endpoint& ep, const Job& job, const AttemptResult& r) {
    if (ep.config.tokens_per_minute <= 0) return;
    double actual = 0;
    if (r.verdict == Verdict::success) {
      const auto& o = r.parsed.output;
      if (!o.prompt_tokens && !o.completion_tokens) return;  // no usage: the estimate stands
      actual = static_cast<double>(o.prompt_tokens.value_or(0) + o.completion_tokens.value_or(0));
    }
    rate_limits->correct_tokens(ep.gate->key, actual - job.tokens);
  }

  void reconfigure(const EndpointTable& t) {
    for (const auto& entry : t.entries()) {
      const std::string key = entry.region + '\x1f' + entry.model + '\x1f' + entry.url;
      auto it = endpoints.find(key);
      if (it == endpoints.end()) {
        spdlog::warn("endpoint file reload: entry {} ({}/{}) is new; routing changes need a worker restart",
                     entry.parsed_url.redacted(), entry.region, entry.model);
        continue;
      }
      Endpoint& ep = *it->second;
      EndpointConfig& c = ep.config;
      c.requests_per_minute = entry.requests_per_minute;
      c.tokens_per_minute = entry.tokens_per_minute;
      c.max_in_flight = entry.max_in_flight;
      c.min_in_flight = entry.min_in_flight;
      c.max_in_flight_limit = entry.max_in_flight_limit;
      c.quota_probe_s = entry.quota_probe_s;
      if (entry.auto_in_flight && !ep.aimd) ep.aimd.emplace(entry.min_in_flight, entry.max_in_flight_limit);
      if (entry.auto_in_flight) ep.aimd->set_bounds(entry.min_in_flight, entry.max_in_flight_limit);
      if (!entry.auto_in_flight) ep.aimd.reset();
      c.auto_in_flight = entry.auto_in_flight;
      ep.gate->quota_probe_s = entry.quota_probe_s;
      rate_limits->configure(ep.gate->key,
                             {static_cast<double>(entry.requests_per_minute),
                              static_cast<double>(entry.tokens_per_minute)},
                             ep.label);
      spdlog::info("endpoint {} ({}/{}): limits now requests_per_minute={} tokens_per_minute={} max_in_flight={}",
                   ep.label, c.region, c.model, c.requests_per_minute, c.tokens_per_minute,
                   c.auto_in_flight ? "auto" : std::to_string(c.max_in_flight));
    }
    for (auto& [key, ep] : endpoints) pump(*ep);
  }

  void notify(const Endpoint& ep, int attempt, const AttemptResult& r, double latency, bool will_retry) {
    if (!observer) return;
    AttemptEvent e;
    e.endpoint = ep.label;
    e.region = ep.config.region;
    e.model = ep.config.model;
    e.attempt = attempt;
    e.http_status = r.http_status;
    if (r.verdict != Verdict::success) e.error_kind = r.error.kind;
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
        out.error = ErrorInfo{ErrorKind::internal, e.what()};
      }
      self->jobs.erase(&job);
    }
    if (out.aborted && job.dropped) {
      out.aborted = false;
      out.cancelled = true;
      out.ok = false;
      out.error = ErrorInfo{ErrorKind::cancelled, "job cancelled before this request reached the endpoint"};
    } else if (out.aborted) {
      out.ok = false;
      out.error = ErrorInfo{ErrorKind::cancelled, "inference aborted by shutdown"};
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

void InferenceClient::reconfigure(const EndpointTable& table) {
  net::post(impl_->strand, [impl = impl_, table] { impl->reconfigure(table); });
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
