#include <beacon/amqp/url.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

namespace beacon::amqp {
namespace {

TEST(ParseUrl, FullUrl) {
  const AmqpUrl u = parse_url("amqp://alice:s3cret@rabbit.internal:5699/prod");
  EXPECT_EQ(u.host, "rabbit.internal");
  EXPECT_EQ(u.port, 5699);
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.password, "s3cret");
  EXPECT_EQ(u.vhost, "prod");
}

TEST(ParseUrl, DefaultsAreGuestOn5672AndRootVhost) {
  const AmqpUrl u = parse_url("amqp://localhost");
  EXPECT_EQ(u.host, "localhost");
  EXPECT_EQ(u.port, 5672);
  EXPECT_EQ(u.user, "guest");
  EXPECT_EQ(u.password, "guest");
  EXPECT_EQ(u.vhost, "/");
}

TEST(ParseUrl, TrailingSlashMeansRootVhost) {
  EXPECT_EQ(parse_url("amqp://guest:guest@localhost:5672/").vhost, "/");
}

TEST(ParseUrl, EncodedSlashIsRootVhost) {
  EXPECT_EQ(parse_url("amqp://guest:guest@localhost:5672/%2f").vhost, "/");
  EXPECT_EQ(parse_url("amqp://guest:guest@localhost:5672/%2F").vhost, "/");
}

TEST(ParseUrl, PercentEncodedCredentialsAreDecoded) {
  const AmqpUrl u = parse_url("amqp://us%40er:p%3Ass@h:1/v%2Fx");
  EXPECT_EQ(u.user, "us@er");
  EXPECT_EQ(u.password, "p:ss");
  EXPECT_EQ(u.vhost, "v/x");
}

TEST(ParseUrl, DoesNotTouchTheCallersString) {
  const std::string url = "amqp://a:b@h:1/v";
  parse_url(url);
  EXPECT_EQ(url, "amqp://a:b@h:1/v");
}

TEST(ParseUrl, RejectsGarbageWithoutEchoingIt) {
  for (const char* bad : {"", "http://u:topsecret@h/", "amqp://u:topsecret@h:notaport/",
                          "rabbit:topsecret"}) {
    try {
      parse_url(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).find("topsecret"), std::string::npos) << e.what();
    }
  }
}

TEST(ParseUrl, RejectsAmqps) {
  EXPECT_THROW(parse_url("amqps://u:p@h/"), std::invalid_argument);
}

TEST(Redacted, HidesThePassword) {
  const AmqpUrl u = parse_url("amqp://alice:s3cret@rabbit:5699/prod");
  EXPECT_EQ(u.redacted(), "amqp://alice:***@rabbit:5699/prod");
  EXPECT_EQ(u.redacted().find("s3cret"), std::string::npos);
}

TEST(Redacted, RootVhostIsOmittedAndOthersEncoded) {
  EXPECT_EQ(parse_url("amqp://g:g@h:1/").redacted(), "amqp://g:***@h:1");
  EXPECT_EQ(parse_url("amqp://g:g@h:1/a%2Fb").redacted(), "amqp://g:***@h:1/a%2Fb");
}

TEST(Redacted, NoPasswordNoStars) {
  AmqpUrl u;
  u.host = "h";
  u.user = "u";
  u.password = "";
  EXPECT_EQ(u.redacted(), "amqp://u@h:5672");
}

}  // namespace
}  // namespace beacon::amqp
