// beacon-infer-sim: an OpenAI-compatible stand-in for a GPU inference endpoint,
// for the demo, the tests and the benchmarks. See sim_usage() / --help.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <beacon/core/cli.hpp>
#include <beacon/core/errors.hpp>
#include <beacon/core/logging.hpp>

#include <cstdio>
#include <iostream>
#include <thread>
#include <vector>

#include "sim_app.hpp"
#include "sim_options.hpp"
#include "sim_server.hpp"

int main(int argc, char** argv) {
  using namespace beacon::sim;
  SimOptions options;
  try {
    options = parse_sim_options(argc, argv);
  } catch (const beacon::BadInput& e) {
    std::cerr << "beacon-infer-sim: " << e.what() << "\n\n" << sim_usage();
    return 2;
  }
  if (options.help) {
    std::cout << sim_usage();
    return 0;
  }
  beacon::setup_logging("beacon-infer-sim", options.log_format, options.log_level);

  std::string api_key;
  if (!options.api_key_env.empty()) {
    api_key = beacon::env_or(options.api_key_env.c_str(), "");
    if (api_key.empty()) {
      spdlog::error("--api-key-env {}: the variable is unset or empty", options.api_key_env);
      return 2;
    }
  }

  try {
    SimApp app(options, api_key);  // outlives the io_context and what is queued in it
    boost::asio::io_context ioc(options.threads);
    SimServer server(ioc, options, app);
    server.start();

    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      spdlog::info("signal {}: stopping", signo);
      server.stop();
      ioc.stop();
    });

    spdlog::info("serving {} on {} (latency {} ms +- {} ms, fail-rate {}, seed {}, threads {}, mode {})",
                 options.tls_cert.empty() ? "HTTP" : "HTTPS", server.address(), options.latency_ms,
                 options.jitter_ms, options.fail_rate, options.seed, options.threads, to_string(options.mode.mode));
    std::printf("listening on %s\n", server.address().c_str());
    std::fflush(stdout);

    std::vector<std::thread> extra;
    for (int i = 1; i < options.threads; ++i) extra.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : extra) t.join();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}
