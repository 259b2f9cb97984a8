#pragma once
// Asynchronous HTTP/1.1 client for inference endpoints, on Boost.Asio/Beast
// coroutines: no thread per request, any number of requests in flight on one
// strand.
//
//  * http and https; TLS always verifies the certificate chain and the host
//    name (tls.hpp), sends SNI, trusts the system store or a given ca_file.
//  * Keep-alive: connections go back to a per host:port:trust idle pool and
//    are reused (one the server closed while idle is dropped when taken). A
//    request is sent again on a fresh connection, within the same call, only
//    when the failure proves the server never received it: a reused
//    connection that failed before one byte of the request was written. Any
//    later failure (the server may have read the POST and started a paid
//    inference) is returned as an error, which the caller counts as an attempt.
//  * Timeouts: connect_timeout covers resolve + TCP connect + TLS handshake;
//    total_timeout covers the whole request, redirects included.
//  * The body is read up to max_response_bytes; more is error "oversized".
//  * Redirects: 303 is followed with GET (no body), 307/308 with the same
//    method and body, at most max_redirects hops (Modal answers a request
//    running past 150 s with 303 to a result URL that blocks until done).
//    Only to the original URL's origin (scheme, host, port) or to a host in
//    HttpOptions::redirect_hosts (never https → http): a redirect elsewhere
//    ends the request with kind "redirect_refused" and nothing is fetched
//    there. The Authorization header is kept only while the target stays on
//    the original host or a subdomain of it, and never on an https → http
//    downgrade (as curl and Go do).
//  * Other 3xx and every 4xx/5xx are returned as responses; deciding what
//    they mean is the retry policy's job.
//
// Thread-safety: construct with a strand (or an io_context run by one thread)
// and start requests only on it; all I/O and the pool live there.
#include <beacon/core/error_kind.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <beacon/infer/asio.hpp>
#include <beacon/infer/cancellation.hpp>
#include <beacon/infer/connection.hpp>
#include <beacon/infer/url.hpp>

namespace beacon::infer {

namespace detail {
struct HttpCall;
struct HttpExchange;
}  // namespace detail

// HttpRequest and HttpOptions have a user-provided constructor on purpose:
// GCC 12 destroys a brace-initialised *aggregate* temporary twice when it is
// an argument in a co_await expression (`co_await c.request(req, {})` crashes
// with a double free). Non-aggregates are not affected.
struct HttpRequest {
  HttpRequest() {}
  std::string method = "POST";
  Url url;
  std::string body;
  std::string content_type = "application/json";
  std::string authorization;  // whole header value ("Bearer ..."), empty for none. A secret: never logged.
};

struct HttpOptions {
  HttpOptions() {}  // not an aggregate: see HttpRequest
  std::chrono::milliseconds connect_timeout{90'000};
  std::chrono::milliseconds total_timeout{120'000};
  std::size_t max_response_bytes = 4 * 1024 * 1024;
  std::string ca_file;  // empty: the system CA store
  int max_redirects = 5;
  // Hosts (lower case, IPv6 without brackets) redirects may lead to besides
  // the original URL's origin: the endpoint file's redirect_hosts.
  std::vector<std::string> redirect_hosts;
  std::size_t max_idle_connections = 64;  // per host:port:trust
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names; repeated headers joined with ", "
};

struct HttpError {
  // One of the transport kinds of core/error_kind.hpp: connect (the request
  // was never sent), timeout, tls, reset, oversized, protocol,
  // redirect_refused, aborted.
  ErrorKind kind = ErrorKind::protocol;
  std::string message;
};

using HttpResult = std::variant<HttpResponse, HttpError>;

class HttpClient {
 public:
  explicit HttpClient(net::any_io_executor executor);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Awaited on the client's executor. Never throws. `cancel`, when given,
  // ends the request early with kind "aborted".
  net::awaitable<HttpResult> request(HttpRequest req, HttpOptions opt, Cancellation* cancel = nullptr);

  // Callback form of request(); `done` runs on the client's executor.
  void async_request(HttpRequest req, HttpOptions opt, std::function<void(HttpResult)> done);

  std::size_t idle_connections() const { return pool_.idle_count(); }
  // Connections opened so far (keep-alive works when this stays below the request count).
  std::uint64_t connections_opened() const { return connections_opened_; }
  // Closes idle connections (shutdown).
  void close_idle() { pool_.close_all(); }

 private:
  using CallPtr = std::shared_ptr<detail::HttpCall>;
  net::awaitable<HttpResult> follow(HttpRequest req, const HttpOptions& opt, const CallPtr& call);
  net::awaitable<HttpResult> send_once(const HttpRequest& req, const HttpOptions& opt, const CallPtr& call);
  net::awaitable<std::variant<std::shared_ptr<Connection>, HttpError>> connect(const Url& url, const HttpOptions& opt,
                                                                             const CallPtr& call);
  net::awaitable<detail::HttpExchange> exchange(const std::shared_ptr<Connection>& conn, const HttpRequest& req,
                                                const HttpOptions& opt, const CallPtr& call);
  std::shared_ptr<net::ssl::context> tls_context(const std::string& ca_file);

  net::any_io_executor executor_;
  ConnectionPool pool_;
  std::map<std::string, std::shared_ptr<net::ssl::context>> tls_contexts_;  // by ca_file
  std::uint64_t connections_opened_ = 0;
};

}  // namespace beacon::infer
