#include <beacon/infer/auth.hpp>

#include <gtest/gtest.h>

namespace beacon::infer {
namespace {

TEST(Auth, BearerFromApiKey) {
  EndpointConfig ep;
  ep.parsed_url = parse_url("https://u:p@h/");
  ep.api_key = "tok";
  EXPECT_EQ(authorization_header(ep), "Bearer tok");  // the explicit key wins over URL credentials
}

TEST(Auth, BasicFromUrlCredentials) {
  EndpointConfig ep;
  ep.parsed_url = parse_url("https://Aladdin:open%20sesame@h/");
  EXPECT_EQ(authorization_header(ep), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(Auth, NoneByDefault) {
  EndpointConfig ep;
  ep.parsed_url = parse_url("http://h/");
  EXPECT_EQ(authorization_header(ep), "");
}

}  // namespace
}  // namespace beacon::infer
