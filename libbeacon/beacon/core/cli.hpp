#pragma once
// A deliberately small command-line parser: `--name value`, `--name=value`,
// boolean `--flag`, and positionals. Unknown flags are errors (exit 2), so a
// typo never silently falls back to a default.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <beacon/core/errors.hpp>

namespace beacon {

class CliArgs {
 public:
  // `valued` flags take a value; `booleans` do not. Throws BadInput.
  CliArgs(int argc, char** argv, int first, const std::set<std::string>& valued, const std::set<std::string>& booleans);

  const std::vector<std::string>& positionals() const { return positionals_; }
  bool has(const std::string& flag) const;
  std::optional<std::string> get(const std::string& flag) const;
  std::string get_or(const std::string& flag, const std::string& fallback) const;
  // Integer flag within [min, max]; throws BadInput naming the flag.
  long get_int(const std::string& flag, long fallback, long min, long max) const;
  // A flag whose value must be one of `choices`; `fallback` when absent.
  // Throws BadInput naming the flag, the value and the choices.
  std::string get_choice(const std::string& flag, const std::string& fallback,
                         const std::vector<std::string>& choices) const;

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> present_;
  std::vector<std::string> positionals_;
};

// Environment variable or fallback when unset or empty.
std::string env_or(const char* name, const std::string& fallback);

// `value` if it is one of `choices`, else BadInput "<what> must be a, b or c, not \"value\"".
// `what` names the flag or variable the value came from.
std::string require_choice(const std::string& what, const std::string& value, const std::vector<std::string>& choices);

}  // namespace beacon
