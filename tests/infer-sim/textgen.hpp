#pragma once
// The simulator's "model": a deterministic answer for a prompt, so the demo
// and the tests see plausible, repeatable output. The same (model, region,
// prompt) always gives the same text. Politically sensitive prompts are
// refused by some (model, region) pairs and answered by others, chosen by a
// hash, so a cross-region report shows both; other prompts are never refused.
#include <cstdint>
#include <string>
#include <string_view>

namespace beacon::sim {

struct GenRequest {
  std::string model;
  std::string region;  // "" when unknown
  std::string user_prompt;
};

struct GenReply {
  std::string text;
  bool sensitive = false;
  bool refused = false;
};

// FNV-1a 64 with a final avalanche; stable across platforms and runs.
std::uint64_t stable_hash(std::string_view s);

// The region named in a system prompt such as "You are a helpful assistant
// based in eu-west." ("eu-west"); a known region name anywhere; else "".
std::string find_region(std::string_view system_prompt);

bool is_sensitive(std::string_view prompt);

// Percentage of (model, question) pairs refused in a region: high for
// "asia*"/"cn*" regions, lower elsewhere.
int refusal_percent(std::string_view region);

GenReply generate(const GenRequest& req);

// Rough token count (4 characters per token, at least 1 for non-empty text).
int estimate_tokens(std::string_view text);

// Cuts `text` to about `max_tokens` tokens; returns true when it was cut
// (finish_reason "length"). max_tokens <= 0 means no limit.
bool truncate_to_tokens(std::string& text, std::int64_t max_tokens);

}  // namespace beacon::sim
