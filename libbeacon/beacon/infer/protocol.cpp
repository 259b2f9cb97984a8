#include <beacon/infer/protocol.hpp>

#include <limits>

#include <beacon/core/errors.hpp>
#include <beacon/core/json.hpp>
#include <beacon/infer/refusal.hpp>

namespace beacon::infer {

namespace {

struct Params {
  std::optional<double> temperature;
  std::optional<std::int64_t> max_tokens;
  std::optional<std::int64_t> seed;
};

Params read_params(std::string_view params_json) {
  Params p;
  if (params_json.empty()) return p;
  json::Document doc = json::parse(params_json);
  json::require_object(doc, "params");
  try {
    p.temperature = json::get_optional_number(doc, "temperature");
    p.max_tokens = json::get_optional_int(doc, "max_tokens");
    p.seed = json::get_optional_int(doc, "seed");
  } catch (const BadInput& e) {
    throw BadInput(std::string("params: ") + e.what());
  }
  return p;
}

// Sample k of a question sends seed + k, so k samples are k draws, not one
// answer k times (and each stays reproducible from the stored seed).
std::optional<std::int64_t> seed_for_sample(const Params& p, int sample) {
  if (!p.seed) return std::nullopt;
  if (sample < 0 || *p.seed > std::numeric_limits<std::int64_t>::max() - sample)
    throw BadInput("params.seed + sample " + std::to_string(sample) + " does not fit in 64 bits");
  return *p.seed + sample;
}

void write_params(json::Writer& w, const Params& p) {
  if (p.temperature) {
    w.Key("temperature");
    w.Double(*p.temperature);
  }
  if (p.max_tokens) {
    w.Key("max_tokens");
    w.Int64(*p.max_tokens);
  }
}

void write_string(json::Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

const json::Value* member(const json::Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() || it->value.IsNull() ? nullptr : &it->value;
}

std::string string_or_empty(const json::Value* v) {
  return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}

std::optional<long> count(const json::Value* obj, const char* name) {
  const json::Value* v = obj ? member(*obj, name) : nullptr;
  if (v && v->IsInt64()) return static_cast<long>(v->GetInt64());
  return std::nullopt;
}

ParsedResponse protocol_error(std::string what, std::string_view body) {
  ParsedResponse r;
  r.error = {ErrorKind::protocol, what + "; body: " + body_excerpt(body)};
  return r;
}

ParsedResponse provider_error(const json::Value* error, std::string_view body) {
  ParsedResponse r;
  std::string message;
  if (error && error->IsString()) {
    message = error->GetString();
  } else if (const json::Value* m = error ? member(*error, "message") : nullptr; m && m->IsString()) {
    message = m->GetString();
  } else if (error) {
    message = json::to_string(*error);
  } else {
    message = body;
  }
  r.error = {ErrorKind::provider, "endpoint reported an error: " + body_excerpt(message)};
  return r;
}

// OpenAI content is a string, null (refusal or tool call), or an array of parts.
std::optional<std::string> content_text(const json::Value& message) {
  const json::Value* content = member(message, "content");
  if (!content) return std::string();
  if (content->IsString()) return std::string(content->GetString(), content->GetStringLength());
  if (!content->IsArray()) return std::nullopt;
  std::string text;
  for (const auto& part : content->GetArray()) {
    text += string_or_empty(member(part, "text"));
  }
  return text;
}

ParsedResponse parse_openai(const json::Value& doc, std::string_view body) {
  const json::Value* choices = member(doc, "choices");
  if (!choices) {
    if (const json::Value* error = member(doc, "error")) return provider_error(error, body);
    return protocol_error("response has no 'choices'", body);
  }
  if (!choices->IsArray() || choices->Empty()) return protocol_error("'choices' is not a non-empty array", body);
  const json::Value& choice = (*choices)[0];
  const json::Value* message = member(choice, "message");
  if (!message || !message->IsObject()) return protocol_error("choices[0].message is missing", body);
  auto text = content_text(*message);
  if (!text) return protocol_error("choices[0].message.content is neither string nor array", body);

  ParsedResponse r;
  r.ok = true;
  r.output.text = std::move(*text);
  r.output.classification = classify_response(r.output.text);
  // OpenAI's structured refusal: content null, the refusal text beside it.
  if (std::string refusal = string_or_empty(member(*message, "refusal")); r.output.text.empty() && !refusal.empty()) {
    r.output.text = std::move(refusal);
    r.output.classification = Classification::refused;
  }
  r.output.finish_reason = string_or_empty(member(choice, "finish_reason"));
  const json::Value* usage = member(doc, "usage");
  r.output.prompt_tokens = count(usage, "prompt_tokens");
  r.output.completion_tokens = count(usage, "completion_tokens");
  r.provider_id = string_or_empty(member(doc, "id"));
  return r;
}

ParsedResponse parse_beacon(const json::Value& doc, std::string_view body) {
  const json::Value* success = member(doc, "success");
  if (!success || !success->IsBool()) return protocol_error("response has no boolean 'success'", body);
  if (!success->GetBool()) return provider_error(member(doc, "error"), body);
  const json::Value* response = member(doc, "response");
  if (!response || !response->IsString()) return protocol_error("'response' is missing or not a string", body);

  ParsedResponse r;
  r.ok = true;
  r.output.text.assign(response->GetString(), response->GetStringLength());
  r.output.classification = classify_response(r.output.text);
  r.output.finish_reason = string_or_empty(member(doc, "finish_reason"));
  const json::Value* receipt = member(doc, "receipt");
  if (receipt && receipt->IsObject()) r.provider_receipt_json = json::to_string(*receipt);
  // Token counts and an id may sit at the top level or inside the receipt.
  const json::Value* usage = member(doc, "usage");
  if (!usage) usage = receipt;
  r.output.prompt_tokens = count(usage, "prompt_tokens");
  r.output.completion_tokens = count(usage, "completion_tokens");
  for (const json::Value* holder : {&doc, receipt}) {
    if (!holder) continue;
    for (const char* key : {"id", "request_id", "call_id"}) {
      if (r.provider_id.empty()) r.provider_id = string_or_empty(member(*holder, key));
    }
  }
  return r;
}

}  // namespace

WireRequest build_request(const EndpointConfig& ep, const InferenceRequest& req) {
  const Params params = read_params(req.params_json);
  const std::string& model = ep.served_model.empty() ? req.model_id : ep.served_model;

  WireRequest out;
  out.url = ep.parsed_url;
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  write_string(w, "model", model);
  if (ep.protocol == Protocol::openai) {
    std::string& path = out.url.path;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    path = (path == "/" ? "" : path) + "/chat/completions";
    w.Key("messages");
    w.StartArray();
    for (auto [role, content] : {std::pair{"system", &req.system_prompt}, std::pair{"user", &req.prompt}}) {
      if (content->empty() && std::string_view(role) == "system") continue;  // no empty system turn
      w.StartObject();
      write_string(w, "role", role);
      write_string(w, "content", *content);
      w.EndObject();
    }
    w.EndArray();
    write_params(w, params);
    if (auto seed = seed_for_sample(params, req.sample)) {
      w.Key("seed");
      w.Int64(*seed);
    }
  } else {
    write_string(w, "prompt", req.prompt);
    write_string(w, "system_prompt", req.system_prompt);
    write_params(w, params);
    write_string(w, "region", req.region);
  }
  w.EndObject();
  out.body.assign(buf.GetString(), buf.GetSize());
  return out;
}

std::optional<std::int64_t> sent_seed(const EndpointConfig& ep, const InferenceRequest& req) {
  if (ep.protocol != Protocol::openai) return std::nullopt;
  return seed_for_sample(read_params(req.params_json), req.sample);
}

ParsedResponse parse_response(Protocol protocol, std::string_view body) {
  json::Document doc;
  try {
    doc = json::parse(body);
  } catch (const BadInput& e) {
    return protocol_error(std::string("response is not JSON (") + e.what() + ")", body);
  }
  if (!doc.IsObject()) return protocol_error("response is not a JSON object", body);
  return protocol == Protocol::openai ? parse_openai(doc, body) : parse_beacon(doc, body);
}

std::string body_excerpt(std::string_view body, std::size_t max_bytes) {
  // The excerpt travels in JSON result events and log lines: keep it valid
  // UTF-8 (bad bytes become '?') and within max_bytes, "..." included.
  const bool cut = body.size() > max_bytes;
  const std::size_t budget = cut ? (max_bytes > 3 ? max_bytes - 3 : 0) : body.size();
  std::string out;
  out.reserve(budget + 3);
  for (std::size_t i = 0; i < body.size();) {
    const auto c = static_cast<unsigned char>(body[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool valid = len != 0 && i + len <= body.size();
    for (std::size_t k = 1; valid && k < len; ++k) {
      valid = (static_cast<unsigned char>(body[i + k]) & 0xC0) == 0x80;
    }
    if (!valid) len = 1;
    if (out.size() + (valid ? len : 1) > budget) break;
    if (valid) {
      out.append(body.substr(i, len));
    } else {
      out.push_back('?');
    }
    i += len;
  }
  if (cut) out += "...";
  return out;
}

}  // namespace beacon::infer
