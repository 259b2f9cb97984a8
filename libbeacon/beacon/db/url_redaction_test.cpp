#include <beacon/db/url_redaction.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <beacon/core/errors.hpp>
#include <beacon/db/connect.hpp>

namespace beacon::db {
namespace {

// Passwords that break parsers, each with a piece that must never be printed.
struct Case {
  std::string password;
  std::string piece;  // unique to the password: absent from every message
};
const std::vector<Case> kPasswords = {
    {"pw/secretslash", "secretslash"}, {"pw@secretat", "secretat"},     {"pw:secretcolon", "secretcolon"},
    {"pw%2Fsecretpct", "secretpct"},   {"pw?secretquery", "secretquery"}, {"pw#secrethash", "secrethash"},
    {"pw secretspace", "secretspace"}, {"pw'secretquote\"", "secretquote"}, {"1234/secretnum", "secretnum"},
    {"secretplain", "secretplain"}};

// Every way a user writes BEACON_DATABASE_URL with such a password, right or wrong.
std::vector<std::string> urls_with(const std::string& pw) {
  return {"postgresql://beacon:" + pw + "@127.0.0.1:1/beacon",
          "postgresql://beacon:" + pw + "@127.0.0.1:1/beacon?sslmode=disable&bad=1",
          "postgres://beacon:" + pw + "@/beacon",
          "postgresql:///beacon?user=beacon&password=" + pw + "&host=127.0.0.1&port=1",
          "mysql://beacon:" + pw + "@127.0.0.1/beacon",
          "host=127.0.0.1 port=1 user=beacon password=" + pw + " dbname=beacon",
          "host=127.0.0.1 port=1 password='" + pw + "' dbname=beacon",
          "host=127.0.0.1 port=1 password='" + pw,
          "postgresql://beacon:" + pw + "@127.0.0.1:notaport/beacon",
          // Issue 12: multi-host URLs for failover, right and wrong.
          "postgresql://beacon:" + pw + "@127.0.0.1:1,127.0.0.1:2/beacon?target_session_attrs=read-write",
          "postgresql://beacon:" + pw + "@127.0.0.1:1,127.0.0.1:notaport/beacon",
          "host=127.0.0.1,127.0.0.1 port=1,2 user=beacon password=" + pw + " target_session_attrs=read-write"};
}

void expect_clean(const std::string& message, const Case& c, const std::string& url) {
  EXPECT_EQ(message.find(c.piece), std::string::npos) << "url: " << url << "\nmessage: " << message;
}

TEST(UrlRedaction, ValidationErrorsNeverCarryThePassword) {
  for (const Case& c : kPasswords) {
    for (const std::string& url : urls_with(c.password)) {
      try {
        validate_database_url(url, "BEACON_DATABASE_URL");
      } catch (const BadInput& e) {
        const std::string message = e.what();
        EXPECT_EQ(message.rfind("BEACON_DATABASE_URL: ", 0), 0u) << message;
        expect_clean(message, c, url);
      }
    }
  }
}

TEST(UrlRedaction, ConnectErrorsAndDescriptionsNeverCarryThePassword) {
  // Port 1 on loopback refuses at once; malformed URLs fail in libpq itself.
  for (const Case& c : kPasswords) {
    for (const std::string& url : urls_with(c.password)) {
      expect_clean(describe_target(url), c, url);
      try {
        connect(url, {"test", 2});
        ADD_FAILURE() << "connected with " << url;
      } catch (const std::exception& e) {
        expect_clean(e.what(), c, url);
      }
    }
  }
}

TEST(UrlRedaction, LibpqMessagesAreMaskedWhereTheyQuoteThePassword) {
  const std::string url = "postgresql://u:pa/secretslash@127.0.0.1:1/db";
  EXPECT_EQ(redact_conninfo_text(R"(invalid integer value "pa" for connection option "port")", url),
            R"(invalid integer value "***" for connection option "port")");
  const std::string at = "postgresql://u:p@secretat@127.0.0.1:1/db";
  EXPECT_EQ(redact_conninfo_text(R"(could not translate host name "secretat@127.0.0.1" to address)", at),
            R"(could not translate host name "***" to address)");
  EXPECT_EQ(redact_conninfo_text(R"(missing "=" after "secretspace" in connection info string)",
                                 "host=h password=pw secretspace"),
            R"(missing "=" after "***" in connection info string)");
}

TEST(UrlRedaction, LeavesWhatIsNotSecret) {
  const std::string url = "postgresql://beacon:s3cret@db.internal:5432/beacon";
  const std::string msg = R"(connection to server at "db.internal" (10.0.0.1), port 5432 failed: password authentication failed for user "beacon")";
  EXPECT_EQ(redact_conninfo_text(msg, url), msg);
  EXPECT_EQ(redact_conninfo_text("anything", "host=h dbname=d"), "anything");
}

TEST(ValidateDatabaseUrl, AcceptsWhatLibpqConnectsTo) {
  for (const char* good :
       {"postgresql://beacon:pw%2Fx%40y@127.0.0.1:5432/beacon", "postgresql://h1:5432,h2:5433/db?target_session_attrs=any",
        "postgresql://beacon:pw@h1:5432,h2:5433/beacon?target_session_attrs=read-write", "postgresql://h1,h2:5433/db",
        "host=h1,h2 port=5432,5433 target_session_attrs=primary",
        "postgresql:///beacon?host=/run/postgresql", "host=h port=5432 password='a b' dbname=d", "",
        "postgresql://u@h/db?user=alice@corp"}) {
    EXPECT_NO_THROW(validate_database_url(good, "BEACON_DATABASE_URL")) << good;
  }
}

TEST(ValidateDatabaseUrl, RefusesWhatLibpqWouldMisread) {
  for (const char* bad : {"postgresql://u:pa/ss@h/db", "postgresql://u:p@ss@h/db", "postgresql://h:0/db",
                          "postgresql://h:99999/db", "host=h port=x", "mysql://u:p@h/db", "host='unterminated",
                          "postgresql://h/db?bad=1", "postgresql://h1:5432,h2:x/db", "postgresql://h1:5432,h2:0/db",
                          "host=h1,h2 port=5432,99999", "postgresql://u:p@h1:1,u:p@h2:2/db"}) {
    EXPECT_THROW(validate_database_url(bad, "BEACON_DATABASE_URL"), BadInput) << bad;
  }
}

}  // namespace
}  // namespace beacon::db
