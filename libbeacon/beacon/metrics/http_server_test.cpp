#include <beacon/metrics/http_server.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace beacon::metrics {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;
};

Reply request(std::uint16_t port, http::verb verb, const std::string& target) {
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect({net::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(false);
  req.prepare_payload();
  http::write(sock, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  return {static_cast<int>(res.result_int()), res.body(), std::string(res[http::field::content_type])};
}

Reply get(std::uint16_t port, const std::string& target) { return request(port, http::verb::get, target); }

// Sends raw bytes and returns whatever comes back until the server closes.
std::string raw(std::uint16_t port, const std::string& bytes) {
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect({net::ip::make_address("127.0.0.1"), port});
  beast::error_code ec;
  net::write(sock, net::buffer(bytes), ec);  // the server may close before reading all of it
  sock.shutdown(tcp::socket::shutdown_send, ec);
  std::string out;
  net::read(sock, net::dynamic_buffer(out), ec);  // until EOF or reset
  return out;
}

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry.counter("beacon_test_total", "A test counter.", {{"queue", "q"}}).inc(2);
    server = std::make_unique<MetricsServer>(registry, MetricsServerOptions{}, [this] {
      return ready.load() ? Readiness{true, ""} : Readiness{false, "broker: connection refused"};
    });
    server->start();
    ASSERT_NE(server->port(), 0);
  }
  void TearDown() override { server->stop(); }

  Registry registry;
  std::atomic<bool> ready{true};
  std::unique_ptr<MetricsServer> server;
};

TEST_F(MetricsServerTest, ServesMetrics) {
  const Reply r = get(server->port(), "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, registry.render());
  EXPECT_NE(r.body.find("beacon_test_total{queue=\"q\"} 2\n"), std::string::npos);
}

TEST_F(MetricsServerTest, HealthzAndReadyz) {
  EXPECT_EQ(get(server->port(), "/healthz").status, 200);
  EXPECT_EQ(get(server->port(), "/healthz").body, "ok\n");
  EXPECT_EQ(get(server->port(), "/readyz").status, 200);
  ready = false;
  const Reply r = get(server->port(), "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("broker: connection refused"), std::string::npos);
  EXPECT_EQ(get(server->port(), "/healthz").status, 200);  // alive though not ready
  ready = true;
  EXPECT_EQ(get(server->port(), "/readyz").status, 200);
}

TEST_F(MetricsServerTest, UnknownPathIs404AndWrongMethod405) {
  EXPECT_EQ(get(server->port(), "/nope").status, 404);
  EXPECT_EQ(get(server->port(), "/").status, 404);
  EXPECT_EQ(request(server->port(), http::verb::post, "/metrics").status, 405);
  EXPECT_EQ(get(server->port(), "/metrics?x=1").status, 200);
}

TEST_F(MetricsServerTest, SurvivesGarbage) {
  const std::string answer = raw(server->port(), "\x01\x02 GARBAGE\r\n\r\n");
  EXPECT_TRUE(answer.empty() || answer.starts_with("HTTP/1.1 400")) << answer;
  const std::string big =
      raw(server->port(), "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  EXPECT_TRUE(big.empty() || big.starts_with("HTTP/1.1 413")) << big.substr(0, 100);
  raw(server->port(), "GET /met");  // half a request, then the client goes away
  EXPECT_EQ(get(server->port(), "/healthz").status, 200);
}

TEST_F(MetricsServerTest, KeepAliveServesSeveralRequests) {
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect({net::ip::make_address("127.0.0.1"), server->port()});
  beast::flat_buffer buf;
  for (const char* target : {"/healthz", "/metrics", "/readyz"}) {
    http::request<http::empty_body> req{http::verb::get, target, 11};
    http::write(sock, req);
    http::response<http::string_body> res;
    http::read(sock, buf, res);
    EXPECT_EQ(res.result_int(), 200u) << target;
  }
}

TEST(MetricsServer, StopClosesListenerAndIsIdempotent) {
  Registry registry;
  MetricsServer server(registry, MetricsServerOptions{});
  server.start();
  const auto port = server.port();
  // An idle open connection must not keep stop() waiting.
  net::io_context ioc;
  tcp::socket idle(ioc);
  idle.connect({net::ip::make_address("127.0.0.1"), port});
  server.stop();
  server.stop();
  tcp::socket sock(ioc);
  beast::error_code ec;
  sock.connect({net::ip::make_address("127.0.0.1"), port}, ec);
  EXPECT_TRUE(ec) << "still accepting after stop()";
}

TEST(MetricsServer, PortInUseThrows) {
  Registry registry;
  MetricsServer a(registry, MetricsServerOptions{});
  a.start();
  MetricsServerOptions same;
  same.port = a.port();
  MetricsServer b(registry, same);
  EXPECT_THROW(b.start(), std::system_error);
}

TEST(ParseHostPort, AcceptsTheUsualForms) {
  auto a = parse_host_port("127.0.0.1:9100");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 9100);
  auto b = parse_host_port(":0");
  EXPECT_EQ(b.host, "0.0.0.0");
  EXPECT_EQ(b.port, 0);
  auto c = parse_host_port("[::1]:80");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 80);
  for (const char* bad : {"", "9100", "host:", "host:x", "host:70000", "::1:80", "[::1]80", "h:1a"})
    EXPECT_THROW(parse_host_port(bad), std::invalid_argument) << bad;
}

}  // namespace
}  // namespace beacon::metrics
