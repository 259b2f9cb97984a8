#pragma once
// An in-process HTTP/1.1 (optionally HTTPS) server on 127.0.0.1, port 0, for
// the HTTP client and InferenceClient tests. It runs on its own thread and
// answers each request with whatever the test's handler returns, and it counts
// what the tests assert on: accepted connections, requests, the largest
// number of requests open at once.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <beacon/infer/asio.hpp>

namespace beacon::infer::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  int connection = 0;                          // 1-based accept order
  std::chrono::steady_clock::time_point at;
};

struct Reply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};  // wait (asynchronously) before answering
  bool reset_mid_body = false;         // send headers and half the body, then RST
  bool close_after = false;            // close the connection after answering, without saying so
  std::optional<std::string> raw;      // write these bytes instead of an HTTP response

  // Builders, so handlers read as one expression: Reply::with(503).header("Retry-After", "1").
  static Reply with(int status, std::string body = "") {
    Reply r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static Reply ok(std::string body) { return with(200, std::move(body)); }
  Reply header(std::string name, std::string value) && {
    headers.emplace_back(std::move(name), std::move(value));
    return std::move(*this);
  }
  Reply after(std::chrono::milliseconds d) && {
    delay = d;
    return std::move(*this);
  }
  Reply reset() && {
    reset_mid_body = true;
    return std::move(*this);
  }
  Reply then_close() && {
    close_after = true;
    return std::move(*this);
  }
  static Reply raw_bytes(std::string bytes) {
    Reply r;
    r.raw = std::move(bytes);
    return r;
  }
  // Reads the request, then closes the connection without a byte of answer
  // (a server that crashed after taking the request).
  static Reply hang_up() { return raw_bytes(""); }
};

class TestServer {
 public:
  using Handler = std::function<Reply(const ReceivedRequest&)>;

  // `tls` null: plain HTTP.
  explicit TestServer(Handler handler, std::shared_ptr<net::ssl::context> tls = nullptr);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  std::uint16_t port() const { return port_; }
  // "http(s)://<host>:<port><path>"
  std::string url(const std::string& path = "/", const std::string& host = "127.0.0.1") const;

  int connections() const { return connections_; }
  int requests() const { return requests_; }
  int max_concurrent() const { return max_concurrent_; }
  // Connections this server has closed (its end of the socket is gone).
  int closed_connections() const { return closed_; }
  std::vector<ReceivedRequest> received() const;
  void set_handler(Handler handler);

 private:
  net::awaitable<void> accept_loop();
  template <typename Stream>
  net::awaitable<void> serve(Stream& stream, int connection);
  net::awaitable<void> session(tcp::socket socket, int connection);
  Reply handle(const ReceivedRequest& req);

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<net::ssl::context> tls_;
  std::uint16_t port_ = 0;
  std::thread thread_;

  mutable std::mutex mutex_;
  Handler handler_;
  std::vector<ReceivedRequest> received_;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> open_{0};
  std::atomic<int> max_concurrent_{0};
  std::atomic<int> closed_{0};
};

// Runs `ioc` in short slices on the calling thread until `done()` holds or
// `limit` passes; false on time-out. Tests wait on conditions, never on sleeps.
bool run_until(net::io_context& ioc, const std::function<bool()>& done,
               std::chrono::milliseconds limit = std::chrono::seconds(10));

// A 200 body in the OpenAI chat-completions format.
std::string openai_body(const std::string& text, const std::string& id = "chatcmpl-test");

}  // namespace beacon::infer::testing
