#include <beacon/dashboard/assets.hpp>

#include <beacon/dashboard/embedded_assets.hpp>

namespace beacon::dashboard {

std::optional<StaticAsset> find_asset(std::string_view name) {
  for (const auto& a : embedded::kAssets)
    if (a.name == name) return StaticAsset{a.content_type, a.body};
  return std::nullopt;
}

}  // namespace beacon::dashboard
