#include <beacon/dashboard/config.hpp>

#include <stdexcept>

#include <boost/asio/ip/address.hpp>

#include <beacon/core/errors.hpp>
#include <beacon/metrics/http_server.hpp>

namespace beacon::dashboard {

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

DashboardConfig make_config(const std::string& addr, const std::string& token, const std::string& database_url) {
  DashboardConfig c;
  try {
    const auto hp = metrics::parse_host_port(addr.empty() ? kDefaultAddr : addr);
    c.host = hp.host;
    c.port = hp.port;
  } catch (const std::invalid_argument& e) {
    throw BadInput(std::string("BEACON_DASHBOARD_ADDR: ") + e.what());
  }
  for (char ch : token)
    if (ch <= ' ' || ch > '~')
      throw BadInput("BEACON_DASHBOARD_TOKEN: only printable ASCII without spaces is allowed");
  c.token = token;
  if (c.token.empty() && !is_loopback_host(c.host))
    throw BadInput("BEACON_DASHBOARD_ADDR " + c.host + " is reachable from other machines: set BEACON_DASHBOARD_TOKEN");
  if (database_url.empty()) throw BadInput("BEACON_DATABASE_URL is not set");
  c.database_url = database_url;
  return c;
}

}  // namespace beacon::dashboard
