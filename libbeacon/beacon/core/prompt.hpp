#pragma once
// The job's system prompt is a template: {region} and {model} are filled in
// per execution, so each region's model is told where it is "based".
#include <string>
#include <string_view>

namespace beacon {

std::string render_system_prompt(std::string_view templ, std::string_view region, std::string_view model);

}  // namespace beacon
