#pragma once
// The simulator's HTTP(S) server: an Asio acceptor and one small session per
// connection (keep-alive, strand per connection), all asynchronous, so one
// thread holds thousands of requests waiting on their simulated latency.
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "sim_app.hpp"
#include "sim_options.hpp"

namespace beacon::sim {

class SimServer {
 public:
  // `app` must outlive the server; run `ioc` on any number of threads.
  SimServer(boost::asio::io_context& ioc, const SimOptions& options, SimApp& app);
  ~SimServer();
  // Loads the TLS files, binds and starts accepting. Throws std::runtime_error
  // (std::system_error for the socket) naming what failed.
  void start();
  // Stops accepting; open connections end when the io_context stops.
  void stop();
  std::uint16_t port() const;
  std::string address() const;  // "host:port" bound

  struct Impl;  // opaque; defined in sim_server.cpp

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace beacon::sim
