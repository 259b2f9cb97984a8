#pragma once
// A small HTTP server for operations, on its own thread (a bounded HttpServer):
//   GET /metrics  -> Registry::render() (text/plain; version=0.0.4)
//   GET /healthz  -> 200 "ok" while the process runs
//   GET /readyz   -> 200 "ready" when the readiness callback says so, else 503 + reason
//   anything else -> 404 (405 for a known path with another method)
// Requests are bounded (8 KiB headers and body), connections time out, the
// number of open connections is capped, and a malformed request only closes
// its own connection (bounded_http_server.hpp). The server never throws out of its thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <beacon/metrics/bounded_http_server.hpp>
#include <beacon/metrics/registry.hpp>

namespace beacon::metrics {

struct Readiness {
  bool ready = true;
  std::string reason;  // why not ready, e.g. "broker: connection refused"
};
// Called on the server thread for each /readyz; must be thread-safe and quick.
using ReadinessCheck = std::function<Readiness()>;

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
// Parses "host:port", "[v6addr]:port" or ":port" (host 0.0.0.0), as given in
// BEACON_METRICS_ADDR. Throws std::invalid_argument on anything else.
HostPort parse_host_port(std::string_view addr);

struct MetricsServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: ephemeral, see MetricsServer::port()
  std::chrono::milliseconds io_timeout{10000};  // per request read/write and idle keep-alive
  std::size_t max_connections = 64;            // further connections are closed at once
};

class MetricsServer {
 public:
  // `registry` must outlive the server. Without a readiness check /readyz is always 200.
  MetricsServer(Registry& registry, MetricsServerOptions options, ReadinessCheck readiness = {});
  ~MetricsServer();  // stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds and starts the server thread. Throws std::system_error when the
  // address cannot be bound (e.g. port in use). Call once.
  void start();
  // Closes the listener and every connection and joins the thread. Idempotent.
  void stop();

  // The bound port (the ephemeral one when options.port was 0); valid after start().
  std::uint16_t port() const;
  // "host:port" actually bound; valid after start().
  std::string address() const;

  struct Impl;  // opaque; defined in http_server.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace beacon::metrics
