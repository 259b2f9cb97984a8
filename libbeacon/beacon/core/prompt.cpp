#include <beacon/core/prompt.hpp>

namespace beacon {

std::string render_system_prompt(std::string_view templ, std::string_view region, std::string_view model) {
  std::string out;
  out.reserve(templ.size() + 32);
  for (std::size_t i = 0; i < templ.size();) {
    if (templ.substr(i, 8) == "{region}") {
      out += region;
      i += 8;
    } else if (templ.substr(i, 7) == "{model}") {
      out += model;
      i += 7;
    } else {
      out += templ[i++];
    }
  }
  return out;
}

}  // namespace beacon
