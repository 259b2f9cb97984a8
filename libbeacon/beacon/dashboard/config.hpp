#pragma once
// beacon-dashboard's configuration from its environment, checked before
// anything starts (a bad value is exit 2, like the other programs):
//   BEACON_DASHBOARD_ADDR   host:port to listen on (default 127.0.0.1:8080)
//   BEACON_DASHBOARD_TOKEN  bearer token; required when the address is not loopback
//   BEACON_DATABASE_URL     Postgres (read only)
#include <cstdint>
#include <string>

namespace beacon::dashboard {

inline constexpr const char* kDefaultAddr = "127.0.0.1:8080";

struct DashboardConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string token;  // empty: no authentication (loopback only)
  std::string database_url;
};

// True for 127.0.0.0/8, ::1 and "localhost": only this machine can connect.
bool is_loopback_host(const std::string& host);

// Builds the configuration from the three values above (addr "" = default).
// Throws BadInput naming the variable for an unparsable address, a token that
// is not printable ASCII, or a non-loopback address without a token.
DashboardConfig make_config(const std::string& addr, const std::string& token, const std::string& database_url);

}  // namespace beacon::dashboard
