// The simulator over real sockets, in-process: keep-alive, limits, the modes
// that break connections, and many concurrent delayed requests on one thread.
#include "sim_server.hpp"

#include <beacon/core/json.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace beacon::sim {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

const std::string kChat = R"({"model":"m","messages":[{"role":"user","content":"What is 2+2?"}]})";

class SimServerTest : public ::testing::Test {
 protected:
  void start(std::int64_t latency_ms) {
    options.latency_ms = latency_ms;
    app = std::make_unique<SimApp>(options, "");
    server = std::make_unique<SimServer>(ioc, options, *app);
    server->start();
    thread = std::thread([this] { ioc.run(); });  // one server thread
  }
  void TearDown() override {
    if (server) server->stop();
    ioc.stop();
    if (thread.joinable()) thread.join();
  }

  tcp::socket connect() {
    tcp::socket s(client_ioc);
    s.connect({net::ip::make_address("127.0.0.1"), server->port()});
    return s;
  }

  http::response<http::string_body> call(tcp::socket& s, http::verb verb, const std::string& target,
                                         const std::string& body = "", bool keep_alive = true) {
    Request req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(keep_alive);
    req.body() = body;
    req.prepare_payload();
    http::write(s, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(s, buffer, parser);
    return parser.release();
  }

  SimOptions options;
  net::io_context ioc;
  net::io_context client_ioc;
  std::unique_ptr<SimApp> app;
  std::unique_ptr<SimServer> server;
  std::thread thread;
  beast::flat_buffer buffer;
};

TEST_F(SimServerTest, KeepAliveChatAndStats) {
  start(0);
  auto s = connect();
  for (int i = 0; i < 3; ++i) {
    auto res = call(s, http::verb::post, "/v1/chat/completions", kChat);
    ASSERT_EQ(res.result_int(), 200u);
    EXPECT_STREQ(json::parse(res.body())["choices"][0]["message"]["content"].GetString(), "2 + 2 = 4.");
  }
  auto stats = json::parse(call(s, http::verb::get, "/stats").body());
  EXPECT_EQ(stats["requests"].GetUint64(), 3u);
  EXPECT_EQ(stats["completed"].GetUint64(), 3u);
  EXPECT_EQ(stats["duplicates"].GetUint64(), 2u);
}

TEST_F(SimServerTest, BodyOverOneMiBIs413) {
  start(0);
  auto s = connect();
  Request req{http::verb::post, "/v1/chat/completions", 11};
  req.body() = std::string(2 * 1024 * 1024, 'a');
  req.prepare_payload();
  beast::error_code ec;
  http::write(s, req, ec);  // the server may answer before it has read everything
  http::response<http::string_body> res;
  http::read(s, buffer, res, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result_int(), 413u);
  auto again = connect();
  EXPECT_EQ(call(again, http::verb::get, "/healthz").result_int(), 200u);
}

TEST_F(SimServerTest, DownClosesWithoutAnswerAndResetCutsTheBody) {
  start(0);
  auto admin = connect();
  ASSERT_EQ(call(admin, http::verb::post, "/admin/mode", R"({"mode":"down","count":1})").result_int(), 200u);
  {
    auto s = connect();
    beast::error_code ec;
    Request req{http::verb::post, "/v1/chat/completions", 11};
    req.body() = kChat;
    req.prepare_payload();
    http::write(s, req);
    http::response<http::string_body> res;
    http::read(s, buffer, res, ec);
    EXPECT_TRUE(ec == http::error::end_of_stream || ec == net::error::connection_reset) << ec.message();
  }
  ASSERT_EQ(call(admin, http::verb::post, "/admin/mode", R"({"mode":"reset","count":1})").result_int(), 200u);
  {
    auto s = connect();
    beast::error_code ec;
    Request req{http::verb::post, "/v1/chat/completions", 11};
    req.body() = kChat;
    req.prepare_payload();
    http::write(s, req);
    http::response<http::string_body> res;
    beast::flat_buffer b;
    http::read(s, b, res, ec);
    EXPECT_TRUE(ec == http::error::partial_message || ec == net::error::connection_reset) << ec.message();
  }
  auto s = connect();
  EXPECT_EQ(call(s, http::verb::post, "/v1/chat/completions", kChat).result_int(), 200u);  // back to normal
}

TEST_F(SimServerTest, GarbageGets400AndServerLives) {
  start(0);
  {
    auto s = connect();
    net::write(s, net::buffer(std::string("\x16\x03\x01 not http\r\n\r\n")));
    std::string out;
    beast::error_code ec;
    net::read(s, net::dynamic_buffer(out), ec);
    EXPECT_TRUE(out.starts_with("HTTP/1.1 400")) << out;
  }
  auto s = connect();
  EXPECT_EQ(call(s, http::verb::get, "/healthz").result_int(), 200u);
}

TEST_F(SimServerTest, ManyConcurrentDelayedRequestsOnOneThread) {
  start(400);
  constexpr int kClients = 200;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      net::io_context c;
      tcp::socket s(c);
      s.connect({net::ip::make_address("127.0.0.1"), server->port()});
      Request req{http::verb::post, "/v1/chat/completions", 11};
      req.body() = kChat;
      req.prepare_payload();
      http::write(s, req);
      beast::flat_buffer b;
      http::response<http::string_body> res;
      http::read(s, b, res);
      if (res.result_int() == 200) ++ok;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients);
  // How long they took is a figure, not a test: bench/sim_concurrency.sh.
  auto s = connect();
  auto stats = json::parse(call(s, http::verb::get, "/stats").body());
  EXPECT_GT(stats["max_in_flight"].GetInt64(), kClients / 2);  // they really waited together
}

}  // namespace
}  // namespace beacon::sim
