#pragma once
// Sets an environment variable for this process (and so for every child it
// starts) until the end of the scope, then restores what was there.
// std::nullopt unsets it for the scope.
#include <cstddef>
#include <optional>
#include <string>

namespace beacon::test {

class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value);
  // nullptr would become a std::string (undefined behaviour): say std::nullopt.
  ScopedEnv(std::string name, std::nullptr_t) = delete;
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace beacon::test
