#include <beacon/infer/http_client.hpp>

#include <algorithm>
#include <cctype>
#include <optional>

#include <beacon/core/errors.hpp>
#include <beacon/infer/tls.hpp>

namespace beacon::infer {

namespace {

constexpr const char* kUserAgent = "beacon/0.1";
constexpr std::size_t kHeaderLimit = 64 * 1024;

std::string seconds_text(std::chrono::milliseconds d) {
  const auto ms = d.count();
  return std::to_string(ms / 1000) + (ms % 1000 ? "." + std::to_string(ms % 1000 / 100) : "") + " s";
}

std::string host_port(const Url& url) { return url.host + ":" + std::to_string(url.port); }

bool is_same_or_subdomain(const std::string& host, const std::string& original) {
  return host == original || (host.size() > original.size() && host.ends_with(original) &&
                              host[host.size() - original.size() - 1] == '.');
}

bool same_origin(const Url& a, const Url& b) { return a.scheme == b.scheme && a.host == b.host && a.port == b.port; }

std::string origin_text(const Url& u) { return u.scheme + "://" + host_port(u); }

// Where a redirect may lead (a compromised or misconfigured endpoint must
// not make workers fetch internal URLs and store the body): the endpoint's
// own origin, or a host the endpoint file lists in redirect_hosts, and
// never from https down to http.
bool redirect_allowed(const Url& endpoint, const Url& next, const std::vector<std::string>& allowed_hosts) {
  if (same_origin(endpoint, next)) return true;
  if (endpoint.tls() && !next.tls()) return false;
  return std::find(allowed_hosts.begin(), allowed_hosts.end(), next.host) != allowed_hosts.end();
}

bool is_reset_like(const error_code& ec) {
  return ec == net::error::connection_reset || ec == net::error::broken_pipe || ec == net::error::eof ||
         ec == net::error::connection_aborted || ec == net::ssl::error::stream_truncated ||
         ec == http::error::end_of_stream || ec == http::error::partial_message;
}

// Errors of a write or read on an established connection.
HttpError exchange_error(const error_code& ec, const HttpOptions& opt) {
  if (ec == http::error::body_limit) {
    return {ErrorKind::oversized, "response body larger than " + std::to_string(opt.max_response_bytes) + " bytes"};
  }
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return {ErrorKind::oversized, "response headers larger than " + std::to_string(kHeaderLimit) + " bytes"};
  }
  if (ec == http::error::end_of_stream) return {ErrorKind::reset, "connection closed before a response arrived"};
  if (ec == http::error::partial_message) return {ErrorKind::reset, "connection closed in the middle of the response"};
  if (is_reset_like(ec)) return {ErrorKind::reset, "connection lost: " + ec.message()};
  if (ec.category() == error_code(http::error::bad_version).category()) {
    return {ErrorKind::protocol, "malformed HTTP response: " + ec.message()};
  }
  if (ec.category() == net::error::get_ssl_category()) return {ErrorKind::tls, "TLS error: " + ec.message()};
  return {ErrorKind::reset, "connection error: " + ec.message()};
}

}  // namespace

namespace detail {

// State shared by one request() and the timers and hooks that may stop it.
// Everything runs on the client's strand.
struct HttpCall {
  std::string stopped;                 // "", "timeout", "connect_timeout" or "aborted"
  std::function<void()> stop_current;  // ends the wait in progress (closes a socket, cancels a resolve)
  bool connecting = false;
  bool finished = false;
  std::chrono::milliseconds total_timeout{};
  std::chrono::milliseconds connect_timeout{};

  void stop(const char* why) {
    if (finished || !stopped.empty()) return;
    stopped = why;
    if (stop_current) stop_current();
  }

  HttpError stopped_error(const Url& url) const {
    if (stopped == "aborted") return {ErrorKind::aborted, "request aborted"};
    if (stopped == "connect_timeout") {
      return {ErrorKind::connect, "timed out connecting to " + host_port(url) + " after " + seconds_text(connect_timeout)};
    }
    return {ErrorKind::timeout, "no complete response from " + host_port(url) + " within " + seconds_text(total_timeout)};
  }
};

// What happened on one connection: a response or an error, and how far the
// request got (see send_once for what may be sent again).
struct HttpExchange {
  error_code ec;
  std::size_t bytes_written = 0;  // of the request; 0: the server cannot have seen it
  HttpResponse response;
  bool reusable = false;
};

}  // namespace detail

namespace {

using detail::HttpCall;
using detail::HttpExchange;

// Sets and clears Call::stop_current around one wait.
class StopHook {
 public:
  StopHook(HttpCall& call, std::function<void()> f) : call_(call) { call_.stop_current = std::move(f); }
  ~StopHook() { call_.stop_current = nullptr; }
  StopHook(const StopHook&) = delete;
  StopHook& operator=(const StopHook&) = delete;

 private:
  HttpCall& call_;
};

net::awaitable<void> run_async(HttpClient* client, HttpRequest req, HttpOptions opt,
                               std::function<void(HttpResult)> done) {
  HttpResult result = co_await client->request(std::move(req), std::move(opt));
  done(std::move(result));
}

}  // namespace

HttpClient::HttpClient(net::any_io_executor executor) : executor_(std::move(executor)) {}

HttpClient::~HttpClient() { pool_.close_all(); }

void HttpClient::async_request(HttpRequest req, HttpOptions opt, std::function<void(HttpResult)> done) {
  net::co_spawn(executor_, run_async(this, std::move(req), std::move(opt), std::move(done)), net::detached);
}

std::shared_ptr<net::ssl::context> HttpClient::tls_context(const std::string& ca_file) {
  auto& ctx = tls_contexts_[ca_file];
  if (!ctx) ctx = make_client_tls_context(ca_file);  // throws std::runtime_error
  return ctx;
}

net::awaitable<HttpResult> HttpClient::request(HttpRequest req, HttpOptions opt, Cancellation* cancel) {
  if (cancel && cancel->cancelled()) co_return HttpError{ErrorKind::aborted, "request aborted"};
  auto call = std::make_shared<HttpCall>();
  call->total_timeout = opt.total_timeout;
  call->connect_timeout = opt.connect_timeout;
  HookGuard hook(cancel, [call] { call->stop("aborted"); });
  net::steady_timer watchdog(executor_);
  watchdog.expires_after(opt.total_timeout);
  watchdog.async_wait([call](error_code ec) {
    if (!ec) call->stop("timeout");
  });

  HttpResult result;
  try {
    result = co_await follow(std::move(req), opt, call);
  } catch (const std::exception& e) {
    // Nothing below should throw; if it does, the caller still gets a value.
    result = HttpError{ErrorKind::protocol, std::string("HTTP client error: ") + e.what()};
  }
  call->finished = true;
  call->stop_current = nullptr;
  watchdog.cancel();
  co_return result;
}

net::awaitable<HttpResult> HttpClient::follow(HttpRequest req, const HttpOptions& opt,
                                              const CallPtr& call) {
  const Url endpoint = req.url;
  const std::string original_host = req.url.host;
  for (int hop = 0;; ++hop) {
    HttpResult result = co_await send_once(req, opt, call);
    auto* response = std::get_if<HttpResponse>(&result);
    if (!response) co_return result;
    const int status = response->status;
    if (status != 303 && status != 307 && status != 308) co_return result;
    auto location = response->headers.find("location");
    if (location == response->headers.end()) co_return result;  // nothing to follow: the caller sees the 3xx
    if (hop >= opt.max_redirects) {
      co_return HttpError{ErrorKind::protocol, "more than " + std::to_string(opt.max_redirects) + " redirects"};
    }
    Url next;
    try {
      next = resolve_reference(req.url, location->second);
    } catch (const BadInput& e) {
      co_return HttpError{ErrorKind::protocol, std::string("cannot follow redirect: ") + e.what()};
    }
    if (!redirect_allowed(endpoint, next, opt.redirect_hosts)) {
      co_return HttpError{ErrorKind::redirect_refused, "refused to follow " + std::to_string(status) + " from " +
                                                  req.url.redacted() + " to " + next.redacted() +
                                                  ": not the endpoint's origin (" + origin_text(endpoint) +
                                                  ") and not in its redirect_hosts"};
    }
    if (status == 303 && req.method != "HEAD") {
      req.method = "GET";
      req.body.clear();
      req.content_type.clear();
    }
    if (!is_same_or_subdomain(next.host, original_host) || (req.url.tls() && !next.tls())) {
      req.authorization.clear();  // the token is for the configured endpoint only
    }
    req.url = std::move(next);
  }
}

net::awaitable<HttpResult> HttpClient::send_once(const HttpRequest& req, const HttpOptions& opt,
                                                 const CallPtr& call) {
  const std::string key = req.url.scheme + "://" + host_port(req.url) + (req.url.tls() ? "|" + opt.ca_file : "");
  for (int round = 0; round < 2; ++round) {
    if (!call->stopped.empty()) co_return call->stopped_error(req.url);
    std::shared_ptr<Connection> conn = round == 0 ? pool_.take(key, std::chrono::steady_clock::now()) : nullptr;
    const bool reused = conn != nullptr;
    if (!conn) {
      auto connected = co_await connect(req.url, opt, call);
      if (auto* err = std::get_if<HttpError>(&connected)) co_return *err;
      conn = std::get<std::shared_ptr<Connection>>(std::move(connected));
    }
    HttpExchange ex = co_await exchange(conn, req, opt, call);
    if (!ex.ec && call->stopped.empty()) {
      if (ex.reusable) {
        pool_.put(key, std::move(conn), opt.max_idle_connections, std::chrono::steady_clock::now());
      } else {
        conn->close();
      }
      co_return std::move(ex.response);
    }
    conn->close();
    if (!call->stopped.empty()) co_return call->stopped_error(req.url);
    // A request is sent again without counting as an attempt only when the
    // failure proves the server never received it: a reused keep-alive
    // connection the server had closed (reset or EOF) before one byte of the
    // request could be written. Once a byte went out, the server may have
    // read the whole POST and started a paid inference before it dropped the
    // connection, even with no response byte back; that failure goes to the
    // caller as an attempt (kind reset), subject to its retry policy.
    if (reused && ex.bytes_written == 0 && is_reset_like(ex.ec)) continue;
    co_return exchange_error(ex.ec, opt);
  }
  co_return HttpError{ErrorKind::reset, "connection lost twice"};  // not reached: round 1 never continues
}

net::awaitable<std::variant<std::shared_ptr<Connection>, HttpError>> HttpClient::connect(
    const Url& url, const HttpOptions& opt, const CallPtr& call) {
  std::shared_ptr<net::ssl::context> ctx;
  if (url.tls()) {
    try {
      ctx = tls_context(opt.ca_file);
    } catch (const std::exception& e) {
      co_return HttpError{ErrorKind::tls, e.what()};
    }
  }
  call->connecting = true;
  net::steady_timer connect_timer(executor_);
  connect_timer.expires_after(opt.connect_timeout);
  connect_timer.async_wait([call](error_code ec) {
    if (!ec && call->connecting) call->stop("connect_timeout");
  });
  struct Done {
    HttpCall& call;
    net::steady_timer& timer;
    ~Done() {
      call.connecting = false;
      timer.cancel();
    }
  } done{*call, connect_timer};

  error_code ec;
  tcp::resolver resolver(executor_);
  tcp::resolver::results_type endpoints;
  {
    StopHook hook(*call, [&resolver] { resolver.cancel(); });
    endpoints = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                net::redirect_error(net::use_awaitable, ec));
  }
  if (!call->stopped.empty()) co_return call->stopped_error(url);
  if (ec) co_return HttpError{ErrorKind::connect, "cannot resolve " + url.host + ": " + ec.message()};

  auto conn = std::make_shared<Connection>(executor_, ctx);
  StopHook hook(*call, [conn] { conn->close(); });
  co_await conn->tcp().async_connect(endpoints, net::redirect_error(net::use_awaitable, ec));
  if (!call->stopped.empty()) co_return call->stopped_error(url);
  if (ec) co_return HttpError{ErrorKind::connect, "cannot connect to " + host_port(url) + ": " + ec.message()};
  conn->tcp().socket().set_option(tcp::no_delay(true), ec);  // small JSON requests: no Nagle delay

  if (ctx) {
    try {
      prepare_tls_connection(conn->ssl(), url.host);
    } catch (const std::exception& e) {
      co_return HttpError{ErrorKind::tls, e.what()};
    }
    ec = co_await conn->handshake();
    if (!call->stopped.empty()) co_return call->stopped_error(url);
    if (ec) {
      if (SSL_get_verify_result(conn->ssl()) == X509_V_OK && is_reset_like(ec)) {
        // The server hung up mid-handshake: a transient connect failure, not a trust problem.
        co_return HttpError{ErrorKind::connect, "TLS handshake with " + host_port(url) + " interrupted: " + ec.message()};
      }
      co_return HttpError{ErrorKind::tls, describe_tls_error(conn->ssl(), ec) + " (" + host_port(url) + ")"};
    }
  }
  ++connections_opened_;
  co_return conn;
}

net::awaitable<HttpExchange> HttpClient::exchange(const std::shared_ptr<Connection>& conn,
                                                          const HttpRequest& req, const HttpOptions& opt,
                                                          const CallPtr& call) {
  HttpExchange ex;
  const http::verb verb = http::string_to_verb(req.method);
  Connection::Request r{verb, req.url.target(), 11};
  r.set(http::field::host, req.url.host_header());
  r.set(http::field::user_agent, kUserAgent);
  r.set(http::field::accept, "application/json");
  if (!req.content_type.empty()) r.set(http::field::content_type, req.content_type);
  if (!req.authorization.empty()) r.set(http::field::authorization, req.authorization);
  r.body() = req.body;
  r.prepare_payload();

  StopHook hook(*call, [conn] { conn->close(); });
  ex.ec = co_await conn->write(r, ex.bytes_written);
  if (ex.ec) co_return ex;

  Connection::Parser parser;
  parser.header_limit(kHeaderLimit);
  ex.ec = co_await conn->read(parser, opt.max_response_bytes);
  if (ex.ec) co_return ex;

  auto& msg = parser.get();
  ex.response.status = static_cast<int>(msg.result_int());
  for (const auto& field : msg) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    auto [it, inserted] = ex.response.headers.emplace(name, std::string(field.value()));
    if (!inserted) it->second += ", " + std::string(field.value());
  }
  ex.response.body = std::move(msg.body());
  ex.reusable = parser.keep_alive() && conn->buffered() == 0;
  co_return ex;
}

}  // namespace beacon::infer
