#pragma once
// The request an execution message sends, built in one place for the
// inference itself and for its digest (infer/request_digest.hpp), so that the
// digest stored with an answer names exactly the request that was paid for.
#include <cstdint>
#include <optional>
#include <string>

#include <beacon/core/messages.hpp>
#include <beacon/infer/endpoints.hpp>
#include <beacon/infer/protocol.hpp>

namespace beacon {

// The message's request ({region}/{model} of the system prompt filled).
infer::InferenceRequest inference_request(const ExecutionMessage& msg, std::string caller_tag);

// What names the request for reuse: its digest, and the seed it sends.
struct RequestIdentity {
  std::string digest;                // 64 hex digits
  std::optional<std::int64_t> seed;  // params.seed + sample, when one is sent
};

// nullopt when the request would never be sent as it is (bad params): there
// is no answer to store or reuse.
std::optional<RequestIdentity> identify_request(const infer::EndpointConfig& ep, const infer::InferenceRequest& req);

// For a message of a job with "reuse": "completed" whose (region, model) has
// an endpoint entry: the identity its preflight looks up. nullopt otherwise
// (the message pays as usual, or fails for want of an endpoint).
std::optional<RequestIdentity> reuse_identity(const infer::EndpointTable& endpoints, const ExecutionMessage& msg);

}  // namespace beacon
