#include "dashboard_browser.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "support/wait.hpp"

namespace beacon::test {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string quoted(const std::string& s) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

Browser::Browser(const std::string& dir) {
  const char* bin = std::getenv("BEACON_CHROMIUM");
  const std::string chromium = bin && *bin ? bin : "/usr/bin/chromium";
  if (!fs::exists(chromium))
    throw std::runtime_error(chromium + " not found: install the Debian package chromium (scripts/deps.sh)");
  const std::string profile = dir + "/chromium-profile";
  fs::remove_all(profile);
  fs::create_directories(profile);
  log_ = dir + "/chromium.log";
  proc_ = std::make_unique<Process>(
      std::vector<std::string>{chromium, "--headless", "--no-sandbox", "--disable-gpu",
                               "--disable-background-networking", "--disable-component-update", "--disable-sync",
                               "--no-first-run", "--no-default-browser-check", "--user-data-dir=" + profile,
                               "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
                               "--window-size=1400,1000", "about:blank"},
      std::map<std::string, std::string>{}, log_);
  // Chromium writes the port it chose and the browser's WebSocket path here.
  const std::string active = profile + "/DevToolsActivePort";
  int port = 0;
  std::string browser_path;
  const bool up = eventually(
      [&] {
        std::ifstream in(active);
        if (in >> port >> browser_path) return port > 0 && !browser_path.empty();
        return !proc_->running();
      },
      60s, 100ms);
  if (!up || port == 0) throw std::runtime_error("chromium did not open its DevTools port: " + log());
  browser_ = open(port, browser_path);
  auto created = call(*browser_, "Target.createTarget", R"({"url":"about:blank"})");
  const std::string target = created["result"]["targetId"].GetString();
  page_ = open(port, "/devtools/page/" + target);
  call(*page_, "Page.enable", "{}");
}

Browser::~Browser() {
  for (auto* ws : {page_.get(), browser_.get()}) {
    if (!ws) continue;
    beast::error_code ec;
    beast::get_lowest_layer(*ws).socket().close(ec);
  }
  if (proc_ && proc_->running() && !proc_->stop(10s)) proc_->kill();
}

std::string Browser::log() const { return proc_ ? proc_->output() : ""; }

std::unique_ptr<Browser::Ws> Browser::open(int port, const std::string& path) {
  auto ws = std::make_unique<Ws>(ioc_);
  net::ip::tcp::resolver resolver(ioc_);
  beast::get_lowest_layer(*ws).expires_after(10s);
  beast::get_lowest_layer(*ws).connect(resolver.resolve("127.0.0.1", std::to_string(port)));
  ws->read_message_max(64 * 1024 * 1024);  // screenshots arrive as one base64 message
  ws->handshake("127.0.0.1:" + std::to_string(port), path);
  beast::get_lowest_layer(*ws).expires_never();  // call() bounds each read itself
  return ws;
}

json::Document Browser::call(Ws& ws, const std::string& method, const std::string& params_json,
                             std::chrono::milliseconds timeout) {
  const int id = next_id_++;
  const std::string msg = "{\"id\":" + std::to_string(id) + ",\"method\":" + quoted(method) +
                          ",\"params\":" + params_json + "}";
  ws.write(net::buffer(msg));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // An asynchronous read run for a bounded time: a browser that hangs fails the call.
    beast::flat_buffer buf;
    bool done = false;
    beast::error_code ec;
    ws.async_read(buf, [&](beast::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    ioc_.restart();
    ioc_.run_until(deadline);
    if (!done) {
      beast::get_lowest_layer(ws).socket().cancel();
      ioc_.restart();
      ioc_.run();
      throw std::runtime_error("chromium did not answer " + method + " within " +
                               std::to_string(timeout.count()) + " ms");
    }
    if (ec) throw std::runtime_error("DevTools connection failed during " + method + ": " + ec.message());
    auto doc = json::parse(beast::buffers_to_string(buf.data()));
    if (!doc.IsObject() || !doc.HasMember("id") || !doc["id"].IsInt() || doc["id"].GetInt() != id) continue;  // an event
    if (doc.HasMember("error")) throw std::runtime_error(method + " failed: " + json::to_string(doc["error"]));
    return doc;
  }
}

void Browser::navigate(const std::string& url) {
  call(*page_, "Page.navigate", "{\"url\":" + quoted(url) + "}");
  if (!wait_for("document.readyState === 'complete' && location.href === " + quoted(url), 30s))
    throw std::runtime_error("page did not load: " + url + " (now at " + evaluate("location.href") + ")");
}

std::string Browser::evaluate(const std::string& expression) {
  auto doc = call(*page_, "Runtime.evaluate",
                  "{\"expression\":" + quoted(expression) + ",\"returnByValue\":true,\"awaitPromise\":true}");
  const auto& result = doc["result"];
  if (result.HasMember("exceptionDetails"))
    throw std::runtime_error("JavaScript exception in `" + expression + "`: " + json::to_string(result["exceptionDetails"]));
  const auto& value = result["result"];
  if (!value.HasMember("value")) return "null";
  return json::to_string(value["value"]);
}

bool Browser::wait_for(const std::string& expression, std::chrono::milliseconds timeout) {
  return eventually([&] { return evaluate("Boolean(" + expression + ")") == "true"; }, timeout, 100ms);
}

std::string Browser::screenshot_png() {
  auto doc = call(*page_, "Page.captureScreenshot", R"({"format":"png","captureBeyondViewport":true})", 60s);
  const auto& data = doc["result"]["data"];
  const std::string b64(data.GetString(), data.GetStringLength());
  std::string png(beast::detail::base64::decoded_size(b64.size()), '\0');
  const auto [written, read] = beast::detail::base64::decode(png.data(), b64.data(), b64.size());
  (void)read;
  png.resize(written);
  return png;
}

}  // namespace beacon::test
