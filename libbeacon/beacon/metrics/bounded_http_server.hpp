#pragma once
// The one bounded HTTP/1.1 server beacon runs (the metrics server of worker and
// writer, and beacon-dashboard), on its own thread:
//   - a request is bounded (header and body, `max_request_bytes` each); an
//     oversized one gets 413, a malformed one 400, and only its own connection closes;
//   - every read and write, and an idle keep-alive, times out (`io_timeout`);
//   - at most `max_connections` connections are open; further ones are closed at once;
//   - the handler runs on the server thread, one request at a time; what it
//     throws becomes a 500, never a dead server.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace beacon::metrics {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
// Called on the server thread for each well-formed request. keep_alive and
// Content-Length are set by the server afterwards.
using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string name = "http server";  // in log lines and errors
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: ephemeral, see HttpServer::port()
  std::chrono::milliseconds io_timeout{10000};  // per request read/write and idle keep-alive
  std::size_t max_connections = 64;             // further connections are closed at once
  std::size_t max_request_bytes = 8 * 1024;     // header limit, and body limit
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, RequestHandler handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the server thread. Throws std::system_error when the
  // address cannot be bound (e.g. port in use). Call once.
  void start();
  // Closes the listener and every connection and joins the thread. Idempotent.
  void stop();

  std::uint16_t port() const;     // the bound port; valid after start()
  std::string address() const;    // "host:port" actually bound; valid after start()
  std::size_t open_connections() const;  // for tests of the bound

  struct Impl;  // opaque; defined in bounded_http_server.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace beacon::metrics
