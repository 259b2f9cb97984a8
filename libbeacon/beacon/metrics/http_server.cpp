#include <beacon/metrics/http_server.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <list>
#include <optional>
#include <stdexcept>
#include <thread>

namespace beacon::metrics {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

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

class Session;

struct MetricsServer::Impl {
  Impl(Registry& r, MetricsServerOptions o, ReadinessCheck c)
      : registry(r), options(std::move(o)), readiness(std::move(c)) {}

  // Server thread only. Declared before ioc so that sessions still queued in
  // it (destroyed with it) can unlink themselves.
  std::list<std::weak_ptr<Session>> sessions;
  bool closing = false;
  // Destroyed after everything that follows: they use it.
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  Registry& registry;
  MetricsServerOptions options;
  ReadinessCheck readiness;
  std::thread thread;
  tcp::endpoint bound;
  bool started = false;
  bool stopped = false;

  void do_accept();
  void close_all();
  http::response<http::string_body> handle(const http::request<http::string_body>& req);
};

// One connection: read a request, answer, repeat while keep-alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, MetricsServer::Impl& server)
      : stream_(std::move(socket)), server_(server) {}

  void start() { read(); }
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }
  std::list<std::weak_ptr<Session>>::iterator self_entry;

  ~Session() { server_.sessions.erase(self_entry); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    parser_->body_limit(8 * 1024);
    stream_.expires_after(server_.options.io_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout || server_.closing) {
      return close();
    }
    if (ec) {
      // Malformed or oversized request: answer 400 if the socket still works, then close.
      spdlog::debug("metrics server: bad request: {}", ec.message());
      const bool parse_error = ec.category() == http::make_error_code(http::error::bad_method).category();
      if (parse_error && ec != http::error::partial_message) {
        res_ = {};
        res_.version(11);
        res_.result(ec == http::error::body_limit || ec == http::error::header_limit
                        ? http::status::payload_too_large
                        : http::status::bad_request);
        res_.set(http::field::content_type, "text/plain");
        res_.body() = "bad request\n";
        res_.keep_alive(false);
        res_.prepare_payload();
        return write();
      }
      return close();
    }
    const auto& req = parser_->get();
    try {
      res_ = server_.handle(req);
    } catch (const std::exception& e) {
      res_ = {http::status::internal_server_error, req.version()};
      res_.set(http::field::content_type, "text/plain");
      res_.body() = std::string("internal error: ") + e.what() + "\n";
    }
    res_.keep_alive(req.keep_alive());
    res_.prepare_payload();
    write();
  }

  void write() {
    stream_.expires_after(server_.options.io_timeout);
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec || !self->res_.keep_alive() || self->server_.closing) return self->close();
      self->read();
    });
  }

  beast::tcp_stream stream_;
  MetricsServer::Impl& server_;
  beast::flat_buffer buffer_{8 * 1024};
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
};

void MetricsServer::Impl::do_accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || closing || !acceptor.is_open()) return;
    if (ec) {
      // EMFILE and friends: keep serving; the next accept may succeed.
      spdlog::warn("metrics server: accept failed: {}", ec.message());
    } else if (sessions.size() >= options.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      auto s = std::make_shared<Session>(std::move(socket), *this);
      sessions.push_front(s);
      s->self_entry = sessions.begin();
      s->start();
    }
    do_accept();
  });
}

void MetricsServer::Impl::close_all() {
  closing = true;
  beast::error_code ec;
  acceptor.close(ec);
  for (auto& w : sessions)
    if (auto s = w.lock()) s->close();
}

http::response<http::string_body> MetricsServer::Impl::handle(const http::request<http::string_body>& req) {
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

void MetricsServer::start() {
  if (impl_->started) throw std::logic_error("MetricsServer::start called twice");
  const std::string wanted = impl_->options.host + ":" + std::to_string(impl_->options.port);
  try {
    tcp::resolver resolver(impl_->ioc);
    auto results = resolver.resolve(impl_->options.host, std::to_string(impl_->options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service);
    const tcp::endpoint ep = results.begin()->endpoint();
    auto& acc = impl_->acceptor;
    acc.open(ep.protocol());
    acc.set_option(net::socket_base::reuse_address(true));
    acc.bind(ep);
    acc.listen(net::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    throw std::system_error(std::error_code(e.code()), "metrics server: cannot listen on " + wanted);
  }
  impl_->bound = impl_->acceptor.local_endpoint();
  impl_->started = true;
  impl_->do_accept();
  impl_->thread = std::thread([impl = impl_.get()] {
    for (;;) {
      try {
        impl->ioc.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("metrics server: handler failed: {}", e.what());
      }
    }
  });
  spdlog::info("metrics server listening on {}", address());
}

void MetricsServer::stop() {
  if (!impl_ || !impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  net::post(impl_->ioc, [impl = impl_.get()] { impl->close_all(); });
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t MetricsServer::port() const { return impl_->bound.port(); }

std::string MetricsServer::address() const {
  const auto a = impl_->bound.address();
  return a.is_v6() ? "[" + a.to_string() + "]:" + std::to_string(port())
                   : a.to_string() + ":" + std::to_string(port());
}

}  // namespace beacon::metrics
