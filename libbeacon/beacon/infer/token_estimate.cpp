#include <beacon/infer/token_estimate.hpp>

#include <beacon/core/json.hpp>

namespace beacon::infer {

double estimate_tokens(const InferenceRequest& req) {
  double max_tokens = kAssumedMaxTokens;
  try {
    json::Document params = json::parse(req.params_json);
    if (params.IsObject()) {
      for (const char* name : {"max_tokens", "max_completion_tokens"}) {
        auto it = params.FindMember(name);
        if (it != params.MemberEnd() && it->value.IsNumber() && it->value.GetDouble() > 0) {
          max_tokens = it->value.GetDouble();
        }
      }
    }
  } catch (const std::exception&) {
    // build_request reports unusable params; the estimate keeps its default.
  }
  return static_cast<double>(req.system_prompt.size() + req.prompt.size()) / 4.0 + max_tokens;
}

}  // namespace beacon::infer
