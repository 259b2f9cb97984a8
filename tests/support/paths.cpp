#include "paths.hpp"

#include <cstdlib>

namespace beacon::test {
namespace {
std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
}  // namespace

std::string source_dir() { return env_or("BEACON_SOURCE_DIR", BEACON_SOURCE_DIR); }
std::string build_dir() { return env_or("BEACON_BUILD_DIR", BEACON_BUILD_DIR); }

}  // namespace beacon::test
