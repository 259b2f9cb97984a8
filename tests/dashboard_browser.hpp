#pragma once
// A real headless Chromium (Debian package `chromium`) driven over the
// DevTools protocol (a WebSocket, with Beast): no npm, no Node. Every call is
// bounded; a browser that does not answer fails the test with what it was asked.
#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <beacon/core/json.hpp>

#include "support/process.hpp"

namespace beacon::test {

class Browser {
 public:
  // Starts chromium ($BEACON_CHROMIUM, else /usr/bin/chromium) with a fresh
  // profile in `dir` and opens one blank page. Throws std::runtime_error.
  explicit Browser(const std::string& dir);
  ~Browser();

  // Loads `url` in the page and waits until the document is complete.
  void navigate(const std::string& url);
  // Evaluates a JavaScript expression in the page (promises awaited) and
  // returns its value as JSON text ("null" for undefined). Throws on a JS exception.
  std::string evaluate(const std::string& expression);
  // Evaluates `expression` until it is true or `timeout` passes; returns whether it became true.
  bool wait_for(const std::string& expression, std::chrono::milliseconds timeout);
  // PNG bytes of the page as shown (the whole page, not just the viewport).
  std::string screenshot_png();

  const std::string& log_path() const { return log_; }
  std::string log() const;

 private:
  using Ws = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  json::Document call(Ws& ws, const std::string& method, const std::string& params_json,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::unique_ptr<Ws> open(int port, const std::string& path);

  std::string log_;
  std::unique_ptr<Process> proc_;
  boost::asio::io_context ioc_;
  std::unique_ptr<Ws> browser_, page_;
  int next_id_ = 1;
};

}  // namespace beacon::test
