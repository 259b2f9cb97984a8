#include <beacon/dashboard/auth.hpp>

namespace beacon::dashboard {

AuthDecision authorize(const std::string& token, std::string_view authorization, std::string_view cookie,
                       const Target& target, std::string_view path) {
  if (token.empty()) return {AuthOutcome::allowed, {}};
  if (const bool probe = target.segments.size() == 1 &&
                         (target.segments[0] == "healthz" || target.segments[0] == "readyz");
      probe)
    return {AuthOutcome::allowed, {}};
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.starts_with(kBearer) && constant_time_equal(authorization.substr(kBearer.size()), token))
    return {AuthOutcome::allowed, {}};
  if (const auto c = cookie_value(cookie, kTokenCookie); !c.empty() && constant_time_equal(c, token))
    return {AuthOutcome::allowed, {}};
  if (const auto it = target.query.find("token"); it != target.query.end() && constant_time_equal(it->second, token)) {
    // Keep the other parameters (an execution link), drop the token.
    std::string location(path);
    char sep = '?';
    for (const auto& [name, value] : target.query) {
      if (name == "token") continue;
      location += sep + percent_encode(name) + "=" + percent_encode(value);
      sep = '&';
    }
    return {AuthOutcome::login, location};
  }
  return {AuthOutcome::denied, {}};
}

std::string login_cookie(const std::string& token) {
  return std::string(kTokenCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict";
}

}  // namespace beacon::dashboard
