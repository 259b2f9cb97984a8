#include <beacon/db/connect.hpp>

#include <gtest/gtest.h>

#include <beacon/core/errors.hpp>

namespace beacon::db {
namespace {

TEST(WithConnectDefaults, AddsTimeoutAndApplicationNameToUri) {
  EXPECT_EQ(with_connect_defaults("postgresql://u@h:5/db", {"beacon producer", 7}),
            "postgresql://u@h:5/db?application_name=beacon%20producer&connect_timeout=7");
  EXPECT_EQ(with_connect_defaults("postgresql://u@h/db?sslmode=disable", {"p", 7}),
            "postgresql://u@h/db?sslmode=disable&application_name=p&connect_timeout=7");
}

TEST(WithConnectDefaults, KeepsWhatTheUrlSets) {
  EXPECT_EQ(with_connect_defaults("postgresql://h/db?connect_timeout=3&application_name=x", {"p", 7}),
            "postgresql://h/db?connect_timeout=3&application_name=x");
}

TEST(WithConnectDefaults, KeyValueForm) {
  EXPECT_EQ(with_connect_defaults("host=h dbname=db", {"it's", 7}),
            "host=h dbname=db application_name='it\\'s' connect_timeout='7'");
  EXPECT_EQ(with_connect_defaults("", {"p", 7}), "application_name='p' connect_timeout='7'");
}

TEST(WithConnectDefaults, UnparsableUrlIsBadInput) {
  EXPECT_THROW(with_connect_defaults("host='unterminated"), BadInput);
}

TEST(DescribeTarget, NeverShowsThePassword) {
  const std::string d = describe_target("postgresql://beacon:s3cret@db.internal:6432/beacon");
  EXPECT_EQ(d, "beacon@db.internal:6432/beacon");
  EXPECT_EQ(describe_target("host=h password=s3cret user=u dbname=d").find("s3cret"), std::string::npos);
}

TEST(Connect, UnreachableServerIsDatabaseUnavailable) {
  // Port 1 on loopback: nothing listens there, the refusal is immediate.
  try {
    connect("postgresql://nobody:s3cret@127.0.0.1:1/none", {"test", 2});
    FAIL() << "connected to port 1";
  } catch (const DatabaseUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:1/none"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace beacon::db
