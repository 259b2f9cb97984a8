#include "sim_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <system_error>

namespace beacon::sim {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto kIdleTimeout = 120s;     // waiting for the next request on a keep-alive connection
constexpr auto kWriteTimeout = 120s;    // writing one response (20 MiB to a slow reader)
constexpr auto kHandshakeTimeout = 10s;
constexpr auto kDrainTimeout = 5s;      // reading what is left of a rejected request before closing

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  template <class... StreamArgs>
  Session(SimApp& app, StreamArgs&&... args)
      : app_(app), stream_(std::forward<StreamArgs>(args)...), timer_(stream_.get_executor()) {}

  void start() {
    if constexpr (kTls) {
      lowest().expires_after(kHandshakeTimeout);
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) {
          spdlog::debug("TLS handshake failed: {}", ec.message());
          return self->close();
        }
        self->read();
      });
    } else {
      read();
    }
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(SimApp::kMaxBody);
    lowest().expires_after(kIdleTimeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  // curl and others send "Expect: 100-continue" before a larger body and wait for the go-ahead.
  void on_header(beast::error_code ec) {
    if (ec) return on_read(ec);
    auto read_body = [self = this->shared_from_this()] {
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](beast::error_code ec2, std::size_t) { self->on_read(ec2); });
    };
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue") && !parser_->is_done()) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = this->shared_from_this(), read_body](beast::error_code wec, std::size_t) {
                         if (wec) return self->close();
                         read_body();
                       });
      return;
    }
    read_body();
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) return reject(http::status::payload_too_large, "request body over 1 MiB");
    if (ec == http::error::header_limit) return reject(http::status::request_header_fields_too_large, "headers too large");
    if (ec && is_parse_error(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message)
      return reject(http::status::bad_request, "malformed HTTP request: " + ec.message());
    if (ec) return close();  // end of stream, timeout, reset

    lowest().expires_never();  // the simulated latency is not an I/O timeout
    const Request req = parser_->release();
    keep_alive_ = req.keep_alive();
    outcome_ = app_.handle(req, kTls);
    if (outcome_.delay.count() > 0) {
      timer_.expires_after(outcome_.delay);
      timer_.async_wait([self = this->shared_from_this()](beast::error_code wait_ec) {
        if (wait_ec) return self->close();
        self->act();
      });
    } else {
      act();
    }
  }

  void act() {
    if (outcome_.completes) app_.completed(*outcome_.completes);
    switch (outcome_.kind) {
      case Outcome::Kind::drop:
        finish("dropped");
        return close();
      case Outcome::Kind::partial_then_close:
        lowest().expires_after(kWriteTimeout);
        net::async_write(stream_, net::buffer(outcome_.partial),
                         [self = this->shared_from_this()](beast::error_code, std::size_t) {
                           self->finish("reset");
                           self->close();
                         });
        return;
      case Outcome::Kind::respond:
        break;
    }
    Response& res = outcome_.response;
    res.version(11);
    res.keep_alive(keep_alive_);
    res.prepare_payload();
    lowest().expires_after(kWriteTimeout);
    http::async_write(stream_, res, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->finish(std::to_string(self->outcome_.response.result_int()));
      self->outcome_ = {};  // free a large body at once
      if (ec || !self->keep_alive_) return self->close();
      self->read();
    });
  }

  void finish(const std::string& status) {
    if (outcome_.inference) app_.finished(status);
    outcome_.inference = false;
  }

  // Answers a request that cannot be read, then drains and closes: the client
  // sees the status instead of a reset from unread data.
  void reject(http::status status, const std::string& why) {
    spdlog::debug("rejecting request: {}", why);
    outcome_ = {};
    outcome_.response = {status, 11};
    outcome_.response.set(http::field::server, "beacon-infer-sim");
    outcome_.response.set(http::field::content_type, "application/json");
    outcome_.response.body() = R"({"error":{"message":")" + why + R"(","type":"invalid_request_error","code":)" +
                               std::to_string(static_cast<int>(status)) + "}}";
    outcome_.response.keep_alive(false);
    outcome_.response.prepare_payload();
    lowest().expires_after(kWriteTimeout);
    http::async_write(stream_, outcome_.response,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        beast::error_code ignored;
                        self->lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
                        self->lowest().expires_after(kDrainTimeout);
                        self->drain();
                      });
  }

  void drain() {
    lowest().async_read_some(net::buffer(scratch_),
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec) return self->close();
                               self->drain();
                             });
  }

  void close() {
    beast::error_code ignored;
    timer_.cancel();
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  SimApp& app_;
  Stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Outcome outcome_;
  bool keep_alive_ = true;
  std::array<char, 16 * 1024> scratch_{};
};

}  // namespace

struct SimServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(net::io_context& c, const SimOptions& o, SimApp& a) : ioc(c), options(o), app(a), acceptor(net::make_strand(c)) {}

  net::io_context& ioc;
  SimOptions options;
  SimApp& app;
  tcp::acceptor acceptor;
  std::optional<ssl::context> tls;
  tcp::endpoint bound;
  std::optional<net::steady_timer> retry;

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted || !self->acceptor.is_open()) return;
      if (ec) {
        // Out of file descriptors and the like: wait a moment instead of spinning.
        spdlog::warn("accept failed: {}", ec.message());
        self->retry.emplace(self->acceptor.get_executor(), 100ms);
        self->retry->async_wait([self](beast::error_code) {
          if (self->acceptor.is_open()) self->accept();
        });
        return;
      }
      beast::error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);
      if (self->tls) {
        std::make_shared<Session<TlsStream>>(self->app, std::move(s), *self->tls)->start();
      } else {
        std::make_shared<Session<PlainStream>>(self->app, std::move(s))->start();
      }
      self->accept();
    });
  }
};

SimServer::SimServer(net::io_context& ioc, const SimOptions& options, SimApp& app)
    : impl_(std::make_shared<Impl>(ioc, options, app)) {}

SimServer::~SimServer() = default;

void SimServer::start() {
  const SimOptions& o = impl_->options;
  if (!o.tls_cert.empty()) {
    for (const auto& file : {o.tls_cert, o.tls_key}) {
      if (!std::ifstream(file)) throw std::runtime_error("cannot read TLS file " + file);
    }
    impl_->tls.emplace(ssl::context::tls_server);
    try {
      impl_->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                              ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      impl_->tls->use_certificate_chain_file(o.tls_cert);
      impl_->tls->use_private_key_file(o.tls_key, ssl::context::pem);
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error("cannot load TLS certificate/key (" + o.tls_cert + ", " + o.tls_key +
                               "): " + e.what());
    }
  }
  try {
    tcp::resolver resolver(impl_->ioc);
    const auto results = resolver.resolve(o.host, std::to_string(o.port),
                                          tcp::resolver::passive | tcp::resolver::numeric_service);
    const tcp::endpoint ep = results.begin()->endpoint();
    auto& acc = impl_->acceptor;
    acc.open(ep.protocol());
    acc.set_option(net::socket_base::reuse_address(true));
    acc.bind(ep);
    acc.listen(net::socket_base::max_listen_connections);
    impl_->bound = acc.local_endpoint();
  } catch (const boost::system::system_error& e) {
    throw std::system_error(std::error_code(e.code()),
                            "cannot listen on " + o.host + ":" + std::to_string(o.port));
  }
  net::post(impl_->acceptor.get_executor(), [impl = impl_] { impl->accept(); });
}

void SimServer::stop() {
  net::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    if (impl->retry) impl->retry->cancel();
  });
}

std::uint16_t SimServer::port() const { return impl_->bound.port(); }

std::string SimServer::address() const {
  const auto a = impl_->bound.address();
  return a.is_v6() ? "[" + a.to_string() + "]:" + std::to_string(port()) : a.to_string() + ":" + std::to_string(port());
}

}  // namespace beacon::sim
