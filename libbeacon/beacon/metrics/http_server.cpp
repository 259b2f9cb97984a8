#include <beacon/metrics/http_server.hpp>

#include <boost/beast/http.hpp>

#include <charconv>
#include <stdexcept>

namespace beacon::metrics {

namespace http = boost::beast::http;

HostPort parse_host_port(std::string_view addr) {
  std::string_view host;
  std::string_view port;
  if (addr.starts_with('[')) {
    const auto close = addr.find(']');
    if (close == std::string_view::npos || close + 1 >= addr.size() || addr[close + 1] != ':')
      throw std::invalid_argument("bad address '" + std::string(addr) + "': expected [v6addr]:port");
    host = addr.substr(1, close - 1);
    port = addr.substr(close + 2);
  } else {
    const auto colon = addr.rfind(':');
    if (colon == std::string_view::npos)
      throw std::invalid_argument("bad address '" + std::string(addr) + "': expected host:port");
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      throw std::invalid_argument("bad address '" + std::string(addr) + "': write IPv6 as [addr]:port");
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535)
    throw std::invalid_argument("bad address '" + std::string(addr) + "': invalid port");
  HostPort out;
  out.host = host.empty() ? "0.0.0.0" : std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

struct MetricsServer::Impl {
  Impl(Registry& r, MetricsServerOptions o, ReadinessCheck c)
      : registry(r), options(std::move(o)), readiness(std::move(c)),
        server(HttpServerOptions{"metrics server", options.host, options.port, options.io_timeout,
                                 options.max_connections},
               [this](const HttpRequest& req) { return handle(req); }) {}

  Registry& registry;
  MetricsServerOptions options;
  ReadinessCheck readiness;
  HttpServer server;  // last: its thread calls handle(), which uses the members above

  HttpResponse handle(const HttpRequest& req);
};

HttpResponse MetricsServer::Impl::handle(const HttpRequest& req) {
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::server, "beacon-metrics");
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  const bool known = path == "/metrics" || path == "/healthz" || path == "/readyz";
  if (!known) {
    res.result(http::status::not_found);
    res.body() = "not found\n";
    return res;
  }
  if (req.method() != http::verb::get) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET");
    res.body() = "method not allowed\n";
    return res;
  }
  if (path == "/metrics") {
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = registry.render();
  } else if (path == "/healthz") {
    res.body() = "ok\n";
  } else {
    Readiness r = readiness ? readiness() : Readiness{};
    if (r.ready) {
      res.body() = "ready\n";
    } else {
      res.result(http::status::service_unavailable);
      res.body() = "not ready: " + (r.reason.empty() ? std::string("unspecified") : r.reason) + "\n";
    }
  }
  return res;
}

MetricsServer::MetricsServer(Registry& registry, MetricsServerOptions options, ReadinessCheck readiness)
    : impl_(std::make_unique<Impl>(registry, std::move(options), std::move(readiness))) {}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::start() { impl_->server.start(); }
void MetricsServer::stop() {
  if (impl_) impl_->server.stop();
}
std::uint16_t MetricsServer::port() const { return impl_->server.port(); }
std::string MetricsServer::address() const { return impl_->server.address(); }

}  // namespace beacon::metrics
