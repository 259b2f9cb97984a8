#include <beacon/db/connect.hpp>

#include <libpq-fe.h>

#include <map>

#include <gtest/gtest.h>

#include <beacon/core/errors.hpp>

namespace beacon::db {
namespace {

// What libpq itself reads from a connection string: keyword -> value.
std::map<std::string, std::string> libpq_sees(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  EXPECT_NE(options, nullptr) << (error ? error : "") << " in " << conninfo;
  std::map<std::string, std::string> set;
  for (PQconninfoOption* o = options; o && o->keyword; ++o)
    if (o->val) set[o->keyword] = o->val;
  PQconninfoFree(options);
  PQfreemem(error);
  return set;
}

ConnectOptions named(const std::string& name, int connect_timeout_s) {
  ConnectOptions o;
  o.application_name = name;
  o.connect_timeout_s = connect_timeout_s;
  return o;
}

TEST(WithConnectDefaults, AddsTimeoutAndApplicationNameToUri) {
  auto uri = with_connect_defaults("postgresql://u@h:5/db", named("beacon producer", 7));
  EXPECT_EQ(uri.rfind("postgresql://u@h:5/db?application_name=beacon%20producer&connect_timeout=7", 0), 0u) << uri;
  auto seen = libpq_sees(with_connect_defaults("postgresql://u@h/db?sslmode=disable", named("p", 7)));
  EXPECT_EQ(seen["sslmode"], "disable");
  EXPECT_EQ(seen["application_name"], "p");
  EXPECT_EQ(seen["connect_timeout"], "7");
}

TEST(WithConnectDefaults, KeepsWhatTheUrlSets) {
  auto seen = libpq_sees(with_connect_defaults(
      "postgresql://h/db?connect_timeout=3&application_name=x&keepalives_idle=99&options=-c%20work_mem%3D1MB",
      named("p", 7)));
  EXPECT_EQ(seen["connect_timeout"], "3");
  EXPECT_EQ(seen["application_name"], "x");
  EXPECT_EQ(seen["keepalives_idle"], "99");
  EXPECT_EQ(seen["options"], "-c work_mem=1MB");
}

TEST(WithConnectDefaults, KeyValueForm) {
  auto seen = libpq_sees(with_connect_defaults("host=h dbname=db", named("it's", 7)));
  EXPECT_EQ(seen["host"], "h");
  EXPECT_EQ(seen["application_name"], "it's");
  EXPECT_EQ(seen["connect_timeout"], "7");
  EXPECT_EQ(libpq_sees(with_connect_defaults("", named("p", 7)))["application_name"], "p");
}

// Issue 8 item 6: no connection without deadlines.
TEST(WithConnectDefaults, EveryConnectionGetsKeepalivesAndTheLongRunningPartsServerDeadlines) {
  for (const std::string url : {"postgresql://u@h/db", "host=h dbname=db"}) {
    ConnectOptions o;
    auto plain = libpq_sees(with_connect_defaults(url, o));
    EXPECT_EQ(plain["keepalives"], "1") << url;
    EXPECT_EQ(plain["keepalives_idle"], "10") << url;
    EXPECT_EQ(plain["keepalives_interval"], "5") << url;
    EXPECT_EQ(plain["keepalives_count"], "3") << url;
    EXPECT_EQ(plain["tcp_user_timeout"], "30000") << url;
    EXPECT_FALSE(plain.contains("options")) << "no server deadline unless asked for: " << url;
    o.statement_timeout_ms = 30000;
    o.lock_timeout_ms = 10000;
    EXPECT_EQ(libpq_sees(with_connect_defaults(url, o))["options"], "-c statement_timeout=30000 -c lock_timeout=10000")
        << url;
  }
}

TEST(WithConnectDefaults, UnparsableUrlIsBadInput) {
  EXPECT_THROW(with_connect_defaults("host='unterminated"), BadInput);
}

TEST(DescribeTarget, NeverShowsThePassword) {
  const std::string d = describe_target("postgresql://beacon:s3cret@db.internal:6432/beacon");
  EXPECT_EQ(d, "beacon@db.internal:6432/beacon");
  EXPECT_EQ(describe_target("host=h password=s3cret user=u dbname=d").find("s3cret"), std::string::npos);
}

// Issue 12: a multi-host URL reaches libpq unchanged (hosts, ports and
// target_session_attrs), with the defaults appended to its query.
TEST(WithConnectDefaults, MultiHostUrlReachesLibpqUnchanged) {
  const std::string url = "postgresql://beacon:pw@h1:5432,h2:5433/beacon?target_session_attrs=read-write";
  const std::string out = with_connect_defaults(url, named("p", 7));
  EXPECT_EQ(out.rfind(url + "&", 0), 0u) << out;
  auto seen = libpq_sees(out);
  EXPECT_EQ(seen["host"], "h1,h2");
  EXPECT_EQ(seen["port"], "5432,5433");
  EXPECT_EQ(seen["target_session_attrs"], "read-write");
  EXPECT_EQ(seen["connect_timeout"], "7");
  auto kv = libpq_sees(with_connect_defaults("host=h1,h2 port=5432,5433 target_session_attrs=primary", named("p", 7)));
  EXPECT_EQ(kv["host"], "h1,h2");
  EXPECT_EQ(kv["target_session_attrs"], "primary");
}

// Without it libpq keeps the first host that answers, a standby after a
// failover, where the writer's every batch would fail for ever.
TEST(WithConnectDefaults, MultiHostUrlLandsOnTheReadWriteHostUnlessItSaysOtherwise) {
  EXPECT_EQ(libpq_sees(with_connect_defaults("postgresql://h1:5432,h2:5433/db"))["target_session_attrs"], "read-write");
  EXPECT_EQ(libpq_sees(with_connect_defaults("host=h1,h2 dbname=db"))["target_session_attrs"], "read-write");
  EXPECT_EQ(libpq_sees(with_connect_defaults("postgresql://h1,h2/db?target_session_attrs=any"))["target_session_attrs"],
            "any");
  EXPECT_FALSE(libpq_sees(with_connect_defaults("postgresql://h1:5432/db")).contains("target_session_attrs"));
}

TEST(DescribeTarget, MultiHostShowsEachHostWithItsPort) {
  EXPECT_EQ(describe_target("postgresql://beacon:s3cret@db1:5432,db2:5433/beacon?target_session_attrs=read-write"),
            "beacon@db1:5432,db2:5433/beacon");
  EXPECT_EQ(describe_target("postgresql://u@db1,db2:6432/d"), "u@db1:5432,db2:6432/d");
  EXPECT_EQ(describe_target("host=db1,db2 port=6432 user=u dbname=d password=s3cret"), "u@db1:6432,db2:6432/d");
}

TEST(Connect, NoReachableHostIsDatabaseUnavailableNamingEveryHost) {
  try {
    connect("postgresql://nobody:s3cret@127.0.0.1:1,127.0.0.1:2/none?target_session_attrs=read-write", {"test", 2});
    FAIL() << "connected to port 1 or 2";
  } catch (const DatabaseUnavailable& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("127.0.0.1:1,127.0.0.1:2/none"), std::string::npos) << what;
    EXPECT_NE(what.find("port 2"), std::string::npos) << "libpq's reason for each host: " << what;
    EXPECT_EQ(what.find("s3cret"), std::string::npos) << what;
  }
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
