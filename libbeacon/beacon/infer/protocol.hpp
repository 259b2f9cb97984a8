#pragma once
// Request bodies and response parsing for the two endpoint protocols of
// SPEC.md. Pure functions: no I/O, so every wire detail is unit-tested.
//
//  openai  POST {url}/chat/completions
//          {"model", "messages": [{system}, {user}], "temperature", "max_tokens", "seed"}
//          → {"id", "choices": [{"message": {"content"}, "finish_reason"}], "usage": {...}}
//  beacon  POST {url}   (a Modal-style JSON endpoint)
//          {"model", "prompt", "system_prompt", "temperature", "max_tokens", "region"}
//          → {"success": true, "response", "model", "inference_time", "receipt": {...}}
//          | {"success": false, "error"}
//
// Only temperature, max_tokens and seed are taken from the job's params (each
// only when given): unknown fields could make a strict server reject the body.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <beacon/core/messages.hpp>
#include <beacon/infer/endpoints.hpp>
#include <beacon/infer/url.hpp>

namespace beacon::infer {

struct InferenceRequest {
  std::string model_id;
  std::string region;
  std::string system_prompt;  // already filled ({region}/{model} replaced)
  std::string prompt;
  std::string params_json = "{}";  // {"temperature": .., "max_tokens": .., "seed": ..}
  int sample = 0;                  // sample k sends params.seed + k (SPEC decisions: samples)
  std::string caller_tag;          // the caller's name for this request (cancel_queued matches it); never sent
};

struct WireRequest {
  Url url;           // where to POST
  std::string body;  // JSON
};

// The seed build_request sends for this request: params.seed + sample for
// the openai protocol, nothing when the job gives no seed or the protocol
// has no seed field (beacon). Throws BadInput as build_request does.
std::optional<std::int64_t> sent_seed(const EndpointConfig& ep, const InferenceRequest& req);

// Throws BadInput when params_json is not a JSON object or a parameter has the
// wrong type: such a message can never succeed, so it is not retried.
WireRequest build_request(const EndpointConfig& ep, const InferenceRequest& req);

struct ParsedResponse {
  bool ok = false;
  Output output;                      // classification already filled when ok
  std::string provider_id;            // server's response id, may be empty
  std::string provider_receipt_json;  // beacon protocol: raw receipt object, may be empty
  ErrorInfo error;                    // when !ok: kind "provider" (server said no) or "protocol" (unusable body)
};

// Parses a 2xx body. Never throws: an unusable body is a "protocol" error
// carrying a bounded excerpt of it.
ParsedResponse parse_response(Protocol protocol, std::string_view body);

// At most max_bytes of body, cut on a UTF-8 character boundary, with "..." when cut.
inline constexpr std::size_t kExcerptBytes = 512;
std::string body_excerpt(std::string_view body, std::size_t max_bytes = kExcerptBytes);

}  // namespace beacon::infer
