#pragma once
// beacon-dashboard's run loop: serve the routes on the configured address
// until SIGTERM / SIGINT, then close every connection and return 0.
#include <beacon/dashboard/config.hpp>

namespace beacon::dashboard {

// Connection and request bounds (through metrics::HttpServer): page and API
// requests are GETs, so 8 KiB of headers is plenty; 128 open connections.
inline constexpr std::size_t kMaxConnections = 128;

// Returns the exit code: 0 after a stop signal, 2 when the address cannot be
// bound (a configuration error, like the other programs).
int run_dashboard(const DashboardConfig& config);

}  // namespace beacon::dashboard
