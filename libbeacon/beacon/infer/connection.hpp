#pragma once
// One HTTP/1.1 connection, plain TCP or TLS, and the idle pool that keeps
// them open between requests (keep-alive), so a busy worker does not pay a
// TCP and TLS handshake per inference.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <beacon/infer/asio.hpp>

namespace beacon::infer {

class Connection {
 public:
  using Request = http::request<http::string_body>;
  using Parser = http::response_parser<http::string_body>;

  // `tls` null: plain TCP. The context is shared and outlives the stream.
  Connection(net::any_io_executor ex, std::shared_ptr<net::ssl::context> tls);

  beast::tcp_stream& tcp();
  SSL* ssl();  // nullptr for plain connections
  bool is_tls() const { return secure_ != nullptr; }

  net::awaitable<error_code> handshake();
  // `written`: bytes of the request handed to the socket, also on error. 0
  // proves the server never saw any of it.
  net::awaitable<error_code> write(Request& req, std::size_t& written);
  // Reads one response; a body larger than body_limit ends with http::error::body_limit.
  net::awaitable<error_code> read(Parser& parser, std::uint64_t body_limit);
  // Closes the socket; a pending operation completes with operation_aborted.
  void close();

  // Bytes received but not yet parsed. Non-empty after a response means the
  // server sent more than one answer: the connection cannot be reused.
  std::size_t buffered() const { return buffer_.size(); }

  // For a connection taken from the idle pool: false when the server has
  // closed it (FIN or reset seen) or sent unsolicited bytes (e.g. a TLS
  // close_notify) while it sat idle. Never blocks.
  bool still_usable();

  std::chrono::steady_clock::time_point idle_since{};

 private:
  std::shared_ptr<net::ssl::context> ctx_;
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure_;
  beast::flat_buffer buffer_;
};

// Idle connections by key ("scheme://host:port" plus the trust settings).
// Most recently used first: it is the one least likely to have been closed
// by the server's idle timeout. Single strand only.
class ConnectionPool {
 public:
  // Connections idle longer than this are dropped instead of reused.
  static constexpr std::chrono::seconds kMaxIdle{60};

  std::shared_ptr<Connection> take(const std::string& key, std::chrono::steady_clock::time_point now);
  void put(const std::string& key, std::shared_ptr<Connection> conn, std::size_t max_idle,
           std::chrono::steady_clock::time_point now);
  std::size_t idle_count() const;
  void close_all();

 private:
  std::map<std::string, std::vector<std::shared_ptr<Connection>>> idle_;
};

}  // namespace beacon::infer
