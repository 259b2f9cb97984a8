#include <beacon/dashboard/config.hpp>

#include <gtest/gtest.h>

#include <beacon/core/errors.hpp>

namespace beacon::dashboard {
namespace {

TEST(DashboardConfig, DefaultsToLoopback8080) {
  const auto c = make_config("", "", "postgresql:///beacon");
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 8080);
  EXPECT_TRUE(c.token.empty());
}

TEST(DashboardConfig, UnparsableAddressIsBadInputNamingTheVariable) {
  for (const char* addr : {"nonsense", "127.0.0.1:99999", "127.0.0.1:", "::1:80"}) {
    try {
      make_config(addr, "", "postgresql:///beacon");
      ADD_FAILURE() << addr << " was accepted";
    } catch (const BadInput& e) {
      EXPECT_NE(std::string(e.what()).find("BEACON_DASHBOARD_ADDR"), std::string::npos) << e.what();
    }
  }
}

TEST(DashboardConfig, NonLoopbackNeedsAToken) {
  EXPECT_THROW(make_config("0.0.0.0:8080", "", "postgresql:///beacon"), BadInput);
  EXPECT_THROW(make_config(":8080", "", "postgresql:///beacon"), BadInput);
  EXPECT_THROW(make_config("10.1.2.3:8080", "", "postgresql:///beacon"), BadInput);
  EXPECT_EQ(make_config("0.0.0.0:8080", "s3cret", "postgresql:///beacon").token, "s3cret");
  EXPECT_NO_THROW(make_config("[::1]:8080", "", "postgresql:///beacon"));
  EXPECT_NO_THROW(make_config("localhost:0", "", "postgresql:///beacon"));
}

TEST(DashboardConfig, TokenWithSpacesAndMissingDatabaseAreBadInput) {
  EXPECT_THROW(make_config("", "a b", "postgresql:///beacon"), BadInput);
  EXPECT_THROW(make_config("", "", ""), BadInput);
}

}  // namespace
}  // namespace beacon::dashboard
