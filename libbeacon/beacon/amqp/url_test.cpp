#include <beacon/amqp/url.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <utility>
#include <vector>

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

TEST(ParseUrl, AmqpsTakesPort5671) {
  const AmqpUrl u = parse_url("amqps://u:p@h/");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.port, 5671);
  EXPECT_EQ(u.redacted(), "amqps://u:***@h:5671");
  EXPECT_EQ(parse_url("amqps://u:p@h:6671/").port, 6671);
}

TEST(ParseUrl, RejectsWhatRabbitmqCWouldSilentlyAccept) {
  // rabbitmq-c turns an empty host into "localhost" and takes port 0.
  for (const char* bad : {"amqp://", "amqp://:5672", "amqp://u:p@:5672", "amqp://u:p@", "amqp://h:0",
                          "amqp://h:99999", "amqp://h:", "amqp://h:-1", "AMQP://h", "amqp:/h", "h:5672"}) {
    EXPECT_THROW(parse_node(bad), std::invalid_argument) << bad;
  }
}

// Passwords that break URL parsers: every way of writing them wrong is refused
// without the password (or a piece of it) in the message; written
// percent-encoded, each one parses back exactly.
TEST(ParseUrl, PasswordsThatBreakParsersNeverReachTheMessage) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"pw/with/slash", "pw%2Fwith%2Fslash"}, {"pw@with@at", "pw%40with%40at"},
      {"pw:with:colon", "pw%3Awith%3Acolon"}, {"pw?with?question", "pw%3Fwith%3Fquestion"},
      {"pw#with#hash", "pw%23with%23hash"},   {"pw with spaces", "pw%20with%20spaces"},
      {"pw'with\"quotes", "pw%27with%22quotes"}, {"pw%2Fliteral", "pw%252Fliteral"},
      {"1234/numbers", "1234%2Fnumbers"}};
  for (const auto& [password, encoded] : cases) {
    const AmqpUrl good = parse_node("amqp://alice:" + encoded + "@rabbit:5672/prod");
    EXPECT_EQ(good.password, password);
    EXPECT_EQ(good.redacted().find(password), std::string::npos) << good.redacted();
    for (const std::string& raw : {"amqp://alice:" + password + "@rabbit:5672/prod",
                                   "amqp://alice:" + password + "@rabbit", "amqps://alice:" + password + "@rabbit/v",
                                   "amqp://alice:" + password + "@:5672", "http://alice:" + password + "@r"}) {
      try {
        const AmqpUrl u = parse_url(raw);
        // Some are valid as written (a space or a quote in the password): then
        // the host must be the intended one, not a piece of the password.
        EXPECT_EQ(u.host, "rabbit") << raw;
        EXPECT_EQ(u.redacted().find(password), std::string::npos) << u.redacted();
      } catch (const std::invalid_argument& e) {
        const std::string message = e.what();
        for (const std::string& piece : {std::string("with"), std::string("numbers"), std::string("literal")})
          EXPECT_EQ(message.find(piece), std::string::npos) << raw << " -> " << message;
      }
    }
  }
}

TEST(ParseUrlList, ParsesEveryNodeAndClientTakesTheFirst) {
  const auto nodes = parse_url_list("amqp://a:x@r1:5672/v, amqp://a:x@r2:5673/v ,amqp://a:x@r3/v");
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0].host, "r1");
  EXPECT_EQ(nodes[1].port, 5673);
  EXPECT_EQ(nodes[2].port, 5672);
  EXPECT_EQ(parse_url("amqp://a:x@r1:5672/v,amqp://a:x@r2/v").host, "r1");
}

TEST(ParseUrlList, EveryNodeLogsInTheSameWay) {
  const auto nodes = parse_url_list("amqps://a:x@r1/v,amqps://a:x@r2:6671/v,amqps://a:x@r3/v");
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[1].port, 6671);
  EXPECT_EQ(nodes[2].port, 5671);
}

TEST(ParseUrlList, RefusesNodesThatDisagreeNamingWhatDiffers) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"amqp://a:secret1@r1/v,amqp://b:secret1@r2/v", "node 2 of 2: its user name differs"},
      {"amqp://a:secret1@r1/v,amqp://a:secret2@r2/v", "node 2 of 2: its password differs"},
      {"amqp://a:secret1@r1/v,amqp://a:secret1@r2/v,amqp://a:secret1@r3", "node 3 of 3: its vhost differs"},
      {"amqp://a:secret1@r1/v,amqps://a:secret1@r2/v", "node 2 of 2: its scheme (amqp:// vs amqps://) differs"},
      // A node without credentials takes guest/guest: not the same login.
      {"amqp://a:secret1@r1/v,amqp://r2/v", "node 2 of 2: its user name differs"},
  };
  for (const auto& [urls, expected] : cases) {
    try {
      parse_url_list(urls);
      ADD_FAILURE() << "accepted " << urls;
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(expected), std::string::npos) << message;
      EXPECT_EQ(message.find("secret"), std::string::npos) << message;
    }
  }
}

TEST(ParseUrlList, NamesTheBadNodeWithoutEchoingIt) {
  for (const char* bad : {"amqp://a:topsecret@r1,", "amqp://a:topsecret@r1,,amqp://r3",
                          "amqp://a:topsecret@r1,amqp://a:top/secret@r2", "amqp://r1,amqps://a:topsecret@r2:1"}) {
    try {
      parse_url(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("node "), std::string::npos) << message;
      EXPECT_EQ(message.find("secret"), std::string::npos) << message;
    }
  }
}

TEST(Redact, EveryNodeOrAPlaceholder) {
  EXPECT_EQ(redact("amqp://a:s3cret@r1:1/v,amqp://a:s3cret@r2:2/v"), "amqp://a:***@r1:1/v,amqp://a:***@r2:2/v");
  EXPECT_EQ(redact("amqp://a:s3/cret@r1"), "(unparsable AMQP URL)");
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
