#include <beacon/dashboard/auth.hpp>

#include <gtest/gtest.h>

namespace beacon::dashboard {
namespace {

AuthDecision check(const std::string& token, std::string_view authorization, std::string_view cookie,
                   std::string_view target) {
  const auto t = parse_target(target);
  EXPECT_TRUE(t);
  return authorize(token, authorization, cookie, *t, target.substr(0, target.find('?')));
}

TEST(Auth, NoTokenAllowsEverything) { EXPECT_EQ(check("", "", "", "/api/jobs").outcome, AuthOutcome::allowed); }

TEST(Auth, TokenRequiredExceptProbes) {
  EXPECT_EQ(check("s3cret", "", "", "/api/jobs").outcome, AuthOutcome::denied);
  EXPECT_EQ(check("s3cret", "Bearer wrong", "", "/").outcome, AuthOutcome::denied);
  EXPECT_EQ(check("s3cret", "", "beacon_dashboard_token=wrong", "/").outcome, AuthOutcome::denied);
  EXPECT_EQ(check("s3cret", "", "", "/healthz").outcome, AuthOutcome::allowed);
  EXPECT_EQ(check("s3cret", "", "", "/readyz").outcome, AuthOutcome::allowed);
}

TEST(Auth, BearerOrCookieAllow) {
  EXPECT_EQ(check("s3cret", "Bearer s3cret", "", "/api/jobs").outcome, AuthOutcome::allowed);
  EXPECT_EQ(check("s3cret", "", "x=1; beacon_dashboard_token=s3cret", "/jobs/j").outcome, AuthOutcome::allowed);
}

TEST(Auth, TokenInQueryLogsInAndDropsIt) {
  const auto d = check("s3cret", "", "", "/jobs/j/execution?token=s3cret&region=us-east&sample=0");
  EXPECT_EQ(d.outcome, AuthOutcome::login);
  EXPECT_EQ(d.location, "/jobs/j/execution?region=us-east&sample=0");
  EXPECT_EQ(check("s3cret", "", "", "/?token=nope").outcome, AuthOutcome::denied);
  EXPECT_NE(login_cookie("s3cret").find("HttpOnly"), std::string::npos);
  EXPECT_NE(login_cookie("s3cret").find("SameSite=Strict"), std::string::npos);
}

}  // namespace
}  // namespace beacon::dashboard
