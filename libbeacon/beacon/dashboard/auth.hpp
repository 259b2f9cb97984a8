#pragma once
// The optional bearer token (BEACON_DASHBOARD_TOKEN). With a token set, every
// request but /healthz and /readyz must carry it, either as
//   Authorization: Bearer TOKEN         (scripts, curl, the JSON API), or
//   Cookie: beacon_dashboard_token=TOKEN (a browser, after opening any page once
//                                         with ?token=TOKEN: the server answers
//                                         303 to the same page without the token
//                                         and sets the cookie HttpOnly, SameSite=Strict).
// Without a token everything is allowed (config.hpp allows that on loopback only).
#include <string>
#include <string_view>

#include <beacon/dashboard/request_parts.hpp>

namespace beacon::dashboard {

inline constexpr std::string_view kTokenCookie = "beacon_dashboard_token";

enum class AuthOutcome {
  allowed,   // serve the request
  denied,    // 401
  login,     // 303 to `location`, setting the cookie
};

struct AuthDecision {
  AuthOutcome outcome = AuthOutcome::denied;
  std::string location;  // for login: the path without the token parameter
};

// `path` is the raw path of the request target (before '?').
AuthDecision authorize(const std::string& token, std::string_view authorization, std::string_view cookie,
                       const Target& target, std::string_view path);

// The Set-Cookie value for a successful login.
std::string login_cookie(const std::string& token);

}  // namespace beacon::dashboard
