#include <beacon/core/cli.hpp>

#include <cstdlib>

namespace beacon {

CliArgs::CliArgs(int argc, char** argv, int first, const std::set<std::string>& valued,
                 const std::set<std::string>& booleans) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      positionals_.push_back(arg);
      continue;
    }
    std::string name = arg;
    std::optional<std::string> value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (booleans.count(name)) {
      if (value) throw BadInput(name + " takes no value");
      present_.insert(name);
    } else if (valued.count(name)) {
      if (!value) {
        if (i + 1 >= argc) throw BadInput(name + " needs a value");
        value = argv[++i];
      }
      values_[name] = *value;
      present_.insert(name);
    } else {
      throw BadInput("unknown option " + name + " (see --help)");
    }
  }
}

bool CliArgs::has(const std::string& flag) const { return present_.count(flag) > 0; }

std::optional<std::string> CliArgs::get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string CliArgs::get_or(const std::string& flag, const std::string& fallback) const {
  return get(flag).value_or(fallback);
}

long CliArgs::get_int(const std::string& flag, long fallback, long min, long max) const {
  auto v = get(flag);
  if (!v) return fallback;
  char* end = nullptr;
  long n = std::strtol(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || n < min || n > max)
    throw BadInput(flag + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", not \"" +
                   *v + "\"");
  return n;
}

std::string CliArgs::get_choice(const std::string& flag, const std::string& fallback,
                                const std::vector<std::string>& choices) const {
  auto v = get(flag);
  return v ? require_choice(flag, *v, choices) : fallback;
}

std::string require_choice(const std::string& what, const std::string& value, const std::vector<std::string>& choices) {
  for (const auto& c : choices)
    if (c == value) return value;
  std::string list;
  for (std::size_t i = 0; i < choices.size(); ++i)
    list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  throw BadInput(what + " must be " + list + ", not \"" + value + "\"");
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v && *v) ? std::string(v) : fallback;
}

}  // namespace beacon
