#include "execution_request.hpp"

#include <beacon/core/errors.hpp>
#include <beacon/core/prompt.hpp>
#include <beacon/infer/request_digest.hpp>

namespace beacon {

infer::InferenceRequest inference_request(const ExecutionMessage& msg, std::string caller_tag) {
  infer::InferenceRequest req;
  req.model_id = msg.key.model_id;
  req.region = msg.key.region;
  req.system_prompt = render_system_prompt(msg.system_prompt, msg.key.region, msg.key.model_id);
  req.prompt = msg.prompt;
  req.params_json = msg.params_json;
  req.sample = msg.key.sample;
  req.caller_tag = std::move(caller_tag);
  return req;
}

std::optional<RequestIdentity> identify_request(const infer::EndpointConfig& ep, const infer::InferenceRequest& req) {
  try {
    return RequestIdentity{infer::request_digest(ep, req), infer::sent_seed(ep, req)};
  } catch (const BadInput&) {
    return std::nullopt;  // the request fails with the reason when it is built
  }
}

std::optional<RequestIdentity> reuse_identity(const infer::EndpointTable& endpoints, const ExecutionMessage& msg) {
  if (msg.reuse != ReusePolicy::completed) return std::nullopt;
  const auto* ep = endpoints.find(msg.key.region, msg.key.model_id);
  if (!ep) return std::nullopt;
  return identify_request(*ep, inference_request(msg, std::string()));
}

}  // namespace beacon
