#pragma once
// The pages, styles and scripts compiled into the program (assets/*).
#include <optional>
#include <string_view>

namespace beacon::dashboard {

struct StaticAsset {
  std::string_view content_type, body;
};
// By file name ("job.html", "app.css"); nullopt when there is no such asset.
std::optional<StaticAsset> find_asset(std::string_view name);

}  // namespace beacon::dashboard
