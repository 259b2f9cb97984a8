#pragma once
// Tokens a request will cost, before it is sent (tokens_per_minute): prompt
// and system prompt length / 4 (about 4 characters a token for English) plus
// the answer it may get: params max_tokens (or max_completion_tokens), or
// kAssumedMaxTokens when the job leaves the length to the server. The
// inference client corrects it from the answer's usage afterwards.
#include <beacon/infer/protocol.hpp>

namespace beacon::infer {

inline constexpr double kAssumedMaxTokens = 256;

double estimate_tokens(const InferenceRequest& req);

}  // namespace beacon::infer
