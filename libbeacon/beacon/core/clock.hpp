#pragma once
// Time formatting: every time on the wire is RFC 3339 UTC with milliseconds.
#include <chrono>
#include <string>

namespace beacon {

std::string to_rfc3339(std::chrono::system_clock::time_point t);
inline std::string now_rfc3339() { return to_rfc3339(std::chrono::system_clock::now()); }

}  // namespace beacon
