#include <beacon/metrics/bounded_http_server.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <list>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace beacon::metrics {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class Session;

struct HttpServer::Impl {
  Impl(HttpServerOptions o, RequestHandler h) : options(std::move(o)), handler(std::move(h)) {}

  // Server thread only. Declared before ioc so that sessions still queued in
  // it (destroyed with it) can unlink themselves.
  std::list<std::weak_ptr<Session>> sessions;
  std::atomic<std::size_t> open{0};
  bool closing = false;
  // Destroyed after everything that follows: they use it.
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  HttpServerOptions options;
  RequestHandler handler;
  std::thread thread;
  tcp::endpoint bound;
  bool started = false;
  bool stopped = false;

  void do_accept();
  void close_all();
};

// One connection: read a request, answer, repeat while keep-alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server), buffer_(server.options.max_request_bytes) {}

  void start() { read(); }
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }
  std::list<std::weak_ptr<Session>>::iterator self_entry;

  ~Session() {
    server_.sessions.erase(self_entry);
    --server_.open;
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_request_bytes));
    parser_->body_limit(server_.options.max_request_bytes);
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
      // Malformed or oversized request: answer 400 / 413 if the socket still works, then close.
      spdlog::debug("{}: bad request: {}", server_.options.name, ec.message());
      const bool parse_error = ec.category() == http::make_error_code(http::error::bad_method).category();
      if (parse_error && ec != http::error::partial_message) {
        res_ = {};
        res_.version(11);
        res_.result(ec == http::error::body_limit || ec == http::error::header_limit ||
                            ec == http::error::buffer_overflow
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
      res_ = server_.handler(req);
    } catch (const std::exception& e) {
      spdlog::error("{}: {} {} failed: {}", server_.options.name, std::string(req.method_string()),
                    std::string(req.target().substr(0, 200)), e.what());
      res_ = {http::status::internal_server_error, req.version()};
      res_.set(http::field::content_type, "text/plain; charset=utf-8");
      res_.body() = "internal error\n";
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
  HttpServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
};

void HttpServer::Impl::do_accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || closing || !acceptor.is_open()) return;
    if (ec) {
      // EMFILE and friends: keep serving; the next accept may succeed.
      spdlog::warn("{}: accept failed: {}", options.name, ec.message());
    } else if (sessions.size() >= options.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      auto s = std::make_shared<Session>(std::move(socket), *this);
      ++open;
      sessions.push_front(s);
      s->self_entry = sessions.begin();
      s->start();
    }
    do_accept();
  });
}

void HttpServer::Impl::close_all() {
  closing = true;
  beast::error_code ec;
  acceptor.close(ec);
  for (auto& w : sessions)
    if (auto s = w.lock()) s->close();
}

HttpServer::HttpServer(HttpServerOptions options, RequestHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  if (impl_->started) throw std::logic_error(impl_->options.name + ": start called twice");
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
    throw std::system_error(std::error_code(e.code()), impl_->options.name + ": cannot listen on " + wanted);
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
        spdlog::error("{}: handler failed: {}", impl->options.name, e.what());
      }
    }
  });
  spdlog::info("{} listening on {}", impl_->options.name, address());
}

void HttpServer::stop() {
  if (!impl_ || !impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  net::post(impl_->ioc, [impl = impl_.get()] { impl->close_all(); });
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t HttpServer::port() const { return impl_->bound.port(); }

std::string HttpServer::address() const {
  const auto a = impl_->bound.address();
  return a.is_v6() ? "[" + a.to_string() + "]:" + std::to_string(port())
                   : a.to_string() + ":" + std::to_string(port());
}

std::size_t HttpServer::open_connections() const { return impl_->open.load(); }

}  // namespace beacon::metrics
