#include <beacon/dashboard/request_parts.hpp>

#include <gtest/gtest.h>

namespace beacon::dashboard {
namespace {

TEST(PercentDecode, DecodesAndRefusesBadEscapes) {
  EXPECT_EQ(percent_decode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("%zz"));
  EXPECT_FALSE(percent_decode("a%00b"));
}

TEST(ParseTarget, SplitsPathAndQuery) {
  const auto t = parse_target("/jobs/job%2D1/execution?region=us-east&model=m%201&question=&sample=2#x");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->segments, (std::vector<std::string>{"jobs", "job-1", "execution"}));
  EXPECT_EQ(t->query.at("region"), "us-east");
  EXPECT_EQ(t->query.at("model"), "m 1");
  EXPECT_EQ(t->query.at("question"), "");
  EXPECT_EQ(t->query.at("sample"), "2");
  EXPECT_TRUE(parse_target("/")->segments.empty());
  EXPECT_FALSE(parse_target("jobs"));
  EXPECT_FALSE(parse_target("/jobs/%zz"));
}

TEST(Cookies, FindsTheNamedValue) {
  EXPECT_EQ(cookie_value("a=1; beacon_dashboard_token=xyz; b=2", "beacon_dashboard_token"), "xyz");
  EXPECT_EQ(cookie_value("a=1", "beacon_dashboard_token"), "");
  EXPECT_EQ(cookie_value("", "a"), "");
}

TEST(ConstantTimeEqual, ComparesWholeStrings) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

TEST(PercentEncode, RoundTrips) {
  const std::string s = "a b&c=d%e+f/ü";
  EXPECT_EQ(percent_decode(percent_encode(s), true), s);
}

}  // namespace
}  // namespace beacon::dashboard
