#include "test_server.hpp"

#include <algorithm>
#include <cctype>

#include <beacon/core/json.hpp>

namespace beacon::infer::testing {

TestServer::TestServer(Handler handler, std::shared_ptr<net::ssl::context> tls)
    : acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
      tls_(std::move(tls)),
      handler_(std::move(handler)) {
  port_ = acceptor_.local_endpoint().port();
  net::co_spawn(ioc_, accept_loop(), net::detached);
  thread_ = std::thread([this] { ioc_.run(); });
}

TestServer::~TestServer() {
  ioc_.stop();
  thread_.join();
}

std::string TestServer::url(const std::string& path, const std::string& host) const {
  return std::string(tls_ ? "https" : "http") + "://" + host + ":" + std::to_string(port_) + path;
}

std::vector<ReceivedRequest> TestServer::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

void TestServer::set_handler(Handler handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}

Reply TestServer::handle(const ReceivedRequest& req) {
  std::lock_guard lock(mutex_);
  received_.push_back(req);
  return handler_(req);
}

net::awaitable<void> TestServer::accept_loop() {
  for (;;) {
    error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    const int id = ++connections_;
    net::co_spawn(ioc_, session(std::move(socket), id), net::detached);
  }
}

net::awaitable<void> TestServer::session(tcp::socket socket, int connection) {
  error_code ec;
  if (!tls_) {
    beast::tcp_stream stream(std::move(socket));
    co_await serve(stream, connection);
    stream.socket().close(ec);
    ++closed_;
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls_);
  co_await stream.async_handshake(net::ssl::stream_base::server, net::redirect_error(net::use_awaitable, ec));
  if (!ec) co_await serve(stream, connection);  // ec: e.g. the client rejected our certificate
  beast::get_lowest_layer(stream).socket().close(ec);
  ++closed_;
}

template <typename Stream>
net::awaitable<void> TestServer::serve(Stream& stream, int connection) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    error_code ec;
    co_await http::async_read(stream, buffer, req, net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    ++requests_;
    const int open = ++open_;
    int seen = max_concurrent_.load();
    while (open > seen && !max_concurrent_.compare_exchange_weak(seen, open)) {
    }

    ReceivedRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = req.body();
    r.connection = connection;
    r.at = std::chrono::steady_clock::now();
    for (const auto& f : req) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      r.headers[name] = std::string(f.value());
    }
    Reply reply = handle(r);

    if (reply.delay.count() > 0) {
      net::steady_timer timer(co_await net::this_coro::executor, reply.delay);
      co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    auto& socket = beast::get_lowest_layer(stream).socket();
    if (reply.raw || reply.reset_mid_body) {
      std::string bytes = reply.raw ? *reply.raw
                                    : "HTTP/1.1 " + std::to_string(reply.status) + " OK\r\nContent-Length: " +
                                          std::to_string(reply.body.size()) + "\r\n\r\n" +
                                          reply.body.substr(0, reply.body.size() / 2);
      co_await net::async_write(stream, net::buffer(bytes), net::redirect_error(net::use_awaitable, ec));
      if (reply.reset_mid_body) {
        socket.set_option(net::socket_base::linger(true, 0), ec);  // close with RST, not FIN
        socket.close(ec);
        --open_;
        co_return;
      }
      if (reply.raw) {
        --open_;
        socket.close(ec);
        co_return;
      }
    }
    http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
    res.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : reply.headers) res.set(name, value);
    res.body() = reply.body;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
    --open_;
    if (ec || reply.close_after || !req.keep_alive()) {
      socket.close(ec);
      co_return;
    }
  }
}

bool run_until(net::io_context& ioc, const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (ioc.stopped()) ioc.restart();
    ioc.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::string openai_body(const std::string& text, const std::string& id) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("id");
  w.String(id.c_str());
  w.Key("object");
  w.String("chat.completion");
  w.Key("choices");
  w.StartArray();
  w.StartObject();
  w.Key("index");
  w.Int(0);
  w.Key("message");
  w.StartObject();
  w.Key("role");
  w.String("assistant");
  w.Key("content");
  w.String(text.c_str());
  w.EndObject();
  w.Key("finish_reason");
  w.String("stop");
  w.EndObject();
  w.EndArray();
  w.Key("usage");
  w.StartObject();
  w.Key("prompt_tokens");
  w.Int(12);
  w.Key("completion_tokens");
  w.Int(3);
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace beacon::infer::testing
