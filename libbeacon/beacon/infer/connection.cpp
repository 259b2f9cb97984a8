#include <beacon/infer/connection.hpp>

#include <sys/socket.h>

#include <cerrno>

namespace beacon::infer {

Connection::Connection(net::any_io_executor ex, std::shared_ptr<net::ssl::context> tls) : ctx_(std::move(tls)) {
  if (ctx_) {
    secure_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, *ctx_);
  } else {
    plain_ = std::make_unique<beast::tcp_stream>(ex);
  }
}

beast::tcp_stream& Connection::tcp() { return secure_ ? beast::get_lowest_layer(*secure_) : *plain_; }

SSL* Connection::ssl() { return secure_ ? secure_->native_handle() : nullptr; }

net::awaitable<error_code> Connection::handshake() {
  error_code ec;
  if (secure_) co_await secure_->async_handshake(net::ssl::stream_base::client, net::redirect_error(net::use_awaitable, ec));
  co_return ec;
}

net::awaitable<error_code> Connection::write(Request& req, std::size_t& written) {
  error_code ec;
  if (secure_) {
    written = co_await http::async_write(*secure_, req, net::redirect_error(net::use_awaitable, ec));
  } else {
    written = co_await http::async_write(*plain_, req, net::redirect_error(net::use_awaitable, ec));
  }
  co_return ec;
}

net::awaitable<error_code> Connection::read(Parser& parser, std::uint64_t body_limit) {
  // Header first, then the body. In one eager pass Boost 1.74 loses the
  // body_limit error for a Content-Length body (finish_header sets it, then
  // parsing continues into the body and the body reader's init clears it),
  // so an oversized body would be read whole. Checking Content-Length
  // ourselves after the header holds on every Boost version; chunked and
  // read-to-EOF bodies are bounded by the parser as they arrive.
  parser.body_limit(body_limit);
  error_code ec;
  if (secure_) {
    co_await http::async_read_header(*secure_, buffer_, parser, net::redirect_error(net::use_awaitable, ec));
  } else {
    co_await http::async_read_header(*plain_, buffer_, parser, net::redirect_error(net::use_awaitable, ec));
  }
  if (ec) co_return ec;
  if (auto length = parser.content_length(); length && *length > body_limit) co_return http::error::body_limit;
  if (parser.is_done()) co_return ec;
  if (secure_) {
    co_await http::async_read(*secure_, buffer_, parser, net::redirect_error(net::use_awaitable, ec));
  } else {
    co_await http::async_read(*plain_, buffer_, parser, net::redirect_error(net::use_awaitable, ec));
  }
  co_return ec;
}

void Connection::close() {
  // Closing the TCP socket is enough: the connection is never reused after,
  // and a TLS close_notify would only cost a round trip to a server we leave.
  error_code ignored;
  tcp().socket().close(ignored);
}

bool Connection::still_usable() {
  auto& socket = tcp().socket();
  if (!socket.is_open()) return false;
  char byte;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // 0: orderly shutdown by the server; > 0: bytes nobody asked for; < 0 with
  // EAGAIN: nothing to read, the healthy case.
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

std::shared_ptr<Connection> ConnectionPool::take(const std::string& key, std::chrono::steady_clock::time_point now) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  while (!list.empty()) {
    auto conn = std::move(list.back());
    list.pop_back();
    if (now - conn->idle_since <= kMaxIdle && conn->still_usable()) return conn;
    conn->close();
  }
  return nullptr;
}

void ConnectionPool::put(const std::string& key, std::shared_ptr<Connection> conn, std::size_t max_idle,
                         std::chrono::steady_clock::time_point now) {
  auto& list = idle_[key];
  if (list.size() >= max_idle) {
    conn->close();
    return;
  }
  conn->idle_since = now;
  list.push_back(std::move(conn));
}

std::size_t ConnectionPool::idle_count() const {
  std::size_t n = 0;
  for (const auto& [key, list] : idle_) n += list.size();
  return n;
}

void ConnectionPool::close_all() {
  for (auto& [key, list] : idle_) {
    for (auto& conn : list) conn->close();
  }
  idle_.clear();
}

}  // namespace beacon::infer
