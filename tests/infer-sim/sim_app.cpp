#include "sim_app.hpp"

#include <beacon/core/errors.hpp>
#include <beacon/core/json.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

#include "textgen.hpp"

namespace beacon::sim {
namespace {

using json::Writer;

void put(Writer& w, const char* key, std::string_view v) {
  w.Key(key);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

Response json_response(http::status status, unsigned version, std::string body) {
  Response res{status, version};
  res.set(http::field::server, "beacon-infer-sim");
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

// OpenAI-style error body, or {"success":false,...} for the beacon protocol.
std::string error_body(bool beacon_protocol, std::string_view type, std::string_view message, int code) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  if (beacon_protocol) {
    w.Key("success");
    w.Bool(false);
    put(w, "error", message);
    put(w, "type", type);
  } else {
    w.Key("error");
    w.StartObject();
    put(w, "message", message);
    put(w, "type", type);
    w.Key("code");
    w.Int(code);
    w.EndObject();
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

// Text of one message's content: a string, or OpenAI content parts [{type:"text", text}].
std::string content_text(const json::Value& msg) {
  auto it = msg.FindMember("content");
  if (it == msg.MemberEnd() || it->value.IsNull()) return "";
  if (it->value.IsString()) return std::string(it->value.GetString(), it->value.GetStringLength());
  if (!it->value.IsArray()) throw BadInput("messages[].content must be a string or an array of parts");
  std::string out;
  for (const auto& part : it->value.GetArray()) {
    if (!part.IsObject()) throw BadInput("messages[].content parts must be objects");
    if (auto t = json::get_optional_string(part, "text")) out += *t;
  }
  return out;
}

struct Parsed {
  RequestKey key;
  std::string system_prompt;
  std::int64_t max_tokens = 0;
  int prompt_tokens = 0;
};

Parsed parse_chat(const std::string& body) {
  const json::Document doc = json::parse(body);
  json::require_object(doc, "request body");
  Parsed p;
  p.key.model = json::get_string(doc, "model");
  auto msgs = doc.FindMember("messages");
  if (msgs == doc.MemberEnd() || !msgs->value.IsArray() || msgs->value.Empty())
    throw BadInput("field 'messages' must be a non-empty array");
  bool have_user = false;
  for (const auto& m : msgs->value.GetArray()) {
    if (!m.IsObject()) throw BadInput("messages[] must be objects");
    const std::string role = json::get_string(m, "role");
    const std::string text = content_text(m);
    p.prompt_tokens += 4 + estimate_tokens(text);
    if (role == "system" && p.system_prompt.empty()) p.system_prompt = text;
    if (role == "user") {
      p.key.prompt = text;  // the last user message is the question
      have_user = true;
    }
  }
  if (!have_user) throw BadInput("field 'messages' has no user message");
  p.max_tokens = json::get_optional_int(doc, "max_tokens")
                     .value_or(json::get_optional_int(doc, "max_completion_tokens").value_or(0));
  (void)json::get_optional_number(doc, "temperature");  // validated, no effect
  p.key.seed = json::get_optional_int(doc, "seed");
  p.key.region = find_region(p.system_prompt);
  return p;
}

Parsed parse_beacon(const std::string& body) {
  const json::Document doc = json::parse(body);
  json::require_object(doc, "request body");
  Parsed p;
  p.key.model = json::get_string(doc, "model");
  p.key.prompt = json::get_string(doc, "prompt");
  p.system_prompt = json::get_optional_string(doc, "system_prompt").value_or("");
  p.max_tokens = json::get_optional_int(doc, "max_tokens").value_or(0);
  (void)json::get_optional_number(doc, "temperature");
  p.key.seed = json::get_optional_int(doc, "seed");
  p.key.region = json::get_optional_string(doc, "region").value_or(find_region(p.system_prompt));
  p.prompt_tokens = estimate_tokens(p.system_prompt) + estimate_tokens(p.key.prompt) + 8;
  return p;
}

std::string answer_body(bool beacon_protocol, const std::string& id, const Parsed& p, std::string text,
                        std::chrono::milliseconds delay) {
  const bool cut = truncate_to_tokens(text, p.max_tokens);
  const int completion_tokens = estimate_tokens(text);
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  if (beacon_protocol) {
    w.Key("success");
    w.Bool(true);
    put(w, "response", text);
    put(w, "model", p.key.model);
    w.Key("inference_time");
    w.Double(static_cast<double>(delay.count()) / 1000.0);
    w.Key("receipt");
    w.StartObject();
    put(w, "id", id);
    put(w, "region", p.key.region);
    put(w, "gpu", "sim");
    w.EndObject();
  } else {
    put(w, "id", id);
    put(w, "object", "chat.completion");
    w.Key("created");
    w.Int64(static_cast<std::int64_t>(std::time(nullptr)));
    put(w, "model", p.key.model);
    w.Key("choices");
    w.StartArray();
    w.StartObject();
    w.Key("index");
    w.Int(0);
    w.Key("message");
    w.StartObject();
    put(w, "role", "assistant");
    put(w, "content", text);
    w.EndObject();
    put(w, "finish_reason", cut ? "length" : "stop");
    w.EndObject();
    w.EndArray();
  }
  w.Key("usage");
  w.StartObject();
  w.Key("prompt_tokens");
  w.Int(p.prompt_tokens);
  w.Key("completion_tokens");
  w.Int(completion_tokens);
  w.Key("total_tokens");
  w.Int(p.prompt_tokens + completion_tokens);
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string path_of(const Request& req) {
  std::string_view t(req.target().data(), req.target().size());
  return std::string(t.substr(0, t.find('?')));
}

Outcome respond(Response res) {
  Outcome o;
  o.response = std::move(res);
  return o;
}

}  // namespace

SimApp::SimApp(const SimOptions& options, std::string api_key)
    : options_(options), api_key_(std::move(api_key)), modes_(options.mode) {}

Outcome SimApp::handle(const Request& req, bool tls) {
  const std::string path = path_of(req);
  const unsigned v = req.version();
  const auto method = req.method();
  auto method_not_allowed = [&](const char* allow) {
    Response res = json_response(http::status::method_not_allowed, v,
                                 error_body(false, "invalid_request_error", "method not allowed", 405));
    res.set(http::field::allow, allow);
    return respond(std::move(res));
  };

  if (path == "/v1/chat/completions" || path == "/chat/completions" || path == "/beacon") {
    if (method != http::verb::post) return method_not_allowed("POST");
    return inference(req, path == "/beacon", tls);
  }
  if (path.starts_with("/result/")) {
    if (method != http::verb::get) return method_not_allowed("GET");
    return result(path.substr(8), v);
  }
  if (path == "/stats") {
    if (method != http::verb::get) return method_not_allowed("GET");
    return respond(json_response(http::status::ok, v, stats_.to_json()));
  }
  if (path == "/admin/mode") {
    if (method == http::verb::get) return respond(json_response(http::status::ok, v, modes_.to_json()));
    if (method != http::verb::post) return method_not_allowed("GET, POST");
    try {
      modes_.set(parse_mode_json(req.body()));
    } catch (const BadInput& e) {
      return respond(json_response(http::status::bad_request, v,
                                   error_body(false, "invalid_request_error", e.what(), 400)));
    }
    const std::string now = modes_.to_json();
    spdlog::info("mode set: {}", now);
    return respond(json_response(http::status::ok, v, now));
  }
  if (path == "/admin/reset") {
    if (method != http::verb::post) return method_not_allowed("POST");
    stats_.reset();
    {
      std::lock_guard lock(mutex_);
      sequence_ = 0;
    }
    spdlog::info("counters reset");
    return respond(json_response(http::status::ok, v, R"({"ok":true})"));
  }
  if (path == "/v1/models") {
    if (method != http::verb::get) return method_not_allowed("GET");
    return respond(json_response(http::status::ok, v, R"({"object":"list","data":[]})"));
  }
  if (path == "/healthz") {
    Response res{http::status::ok, v};
    res.set(http::field::content_type, "text/plain");
    res.body() = "ok\n";
    return respond(std::move(res));
  }
  return respond(json_response(http::status::not_found, v,
                               error_body(false, "invalid_request_error", "no such endpoint: " + path, 404)));
}

SimApp::Published SimApp::count_published() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  const auto window = std::chrono::milliseconds(options_.limit_window_ms);
  if (now - window_start_ >= window) {
    window_start_ = now;
    window_count_ = 0;
  }
  ++window_count_;
  Published p;
  p.over = window_count_ > options_.limit_requests;
  p.remaining = std::max<std::int64_t>(0, options_.limit_requests - window_count_);
  p.reset_ms = std::chrono::duration_cast<std::chrono::milliseconds>(window_start_ + window - now).count();
  return p;
}

Outcome SimApp::inference(const Request& req, bool beacon_protocol, bool tls) {
  if (options_.limit_requests <= 0) return answer(req, beacon_protocol, tls);
  const Published p = count_published();
  Outcome out;
  if (p.over) {
    out.inference = true;
    stats_.received(nullptr);
    out.response = json_response(http::status::too_many_requests, req.version(),
                                 error_body(beacon_protocol, "rate_limit_error",
                                            "published limit of " + std::to_string(options_.limit_requests) +
                                                " requests per window reached", 429));
    out.response.set(http::field::retry_after, std::to_string((p.reset_ms + 999) / 1000));
  } else {
    out = answer(req, beacon_protocol, tls);
  }
  out.response.set("x-ratelimit-limit-requests", std::to_string(options_.limit_requests));
  out.response.set("x-ratelimit-remaining-requests", std::to_string(p.remaining));
  out.response.set("x-ratelimit-reset-requests", std::to_string(p.reset_ms) + "ms");
  return out;
}

Outcome SimApp::answer(const Request& req, bool beacon_protocol, bool tls) {
  const unsigned v = req.version();
  Outcome out;
  out.inference = true;
  auto fail_now = [&](http::status status, std::string_view type, const std::string& message) -> Outcome& {
    out.response = json_response(status, v, error_body(beacon_protocol, type, message, static_cast<int>(status)));
    return out;
  };

  if (!api_key_.empty()) {
    const std::string_view auth(req[http::field::authorization].data(), req[http::field::authorization].size());
    if (auth != "Bearer " + api_key_) {
      stats_.received(nullptr);
      return fail_now(http::status::unauthorized, "authentication_error", "missing or wrong API key");
    }
  }

  Parsed p;
  try {
    p = beacon_protocol ? parse_beacon(req.body()) : parse_chat(req.body());
  } catch (const BadInput& e) {
    stats_.received(nullptr);
    return fail_now(http::status::bad_request, "invalid_request_error", e.what());
  }
  stats_.received(&p.key);
  if (options_.capacity > 0 && stats_.in_flight() > options_.capacity) {
    return fail_now(http::status::service_unavailable, "server_error",
                    "over capacity (" + std::to_string(options_.capacity) + " requests at once)");
  }

  std::uint64_t n = 0;
  std::string id;
  {
    std::lock_guard lock(mutex_);
    n = sequence_++;
    id = "sim-" + std::to_string(++next_id_);
  }
  const ModeSettings mode = modes_.take();
  spdlog::debug("{} {} model={} region={} mode={}", id, beacon_protocol ? "beacon" : "chat", p.key.model,
                p.key.region, to_string(mode.mode));

  switch (mode.mode) {
    case Mode::down:
      out.kind = Outcome::Kind::drop;
      return out;
    case Mode::fail503:
    case Mode::burst503:
      return fail_now(http::status::service_unavailable, "server_error", "simulated overload (mode " +
                                                                             std::string(to_string(mode.mode)) + ")");
    case Mode::rate429: {
      fail_now(http::status::too_many_requests, "rate_limit_error", "simulated rate limit")
          .response.set(http::field::retry_after, std::to_string(mode.retry_after_s));
      return out;
    }
    case Mode::bad_request:
      return fail_now(http::status::bad_request, "invalid_request_error", "simulated bad request");
    case Mode::quota429: {
      out.response = json_response(
          http::status::too_many_requests, v,
          R"({"error":{"message":"You exceeded your current quota, please check your plan and billing details.",)"
          R"("type":"insufficient_quota","param":null,"code":"insufficient_quota"}})");
      return out;
    }
    case Mode::normal:
      if (should_fail(options_.seed, n, options_.fail_rate))
        return fail_now(http::status::service_unavailable, "server_error", "simulated failure (--fail-rate)");
      break;
    default:
      break;
  }

  out.delay = std::chrono::milliseconds(mode.mode == Mode::slow
                                            ? mode.delay_ms
                                            : delay_for(options_.seed, n, options_.latency_ms, options_.jitter_ms));
  GenReply reply = generate({p.key.model, p.key.region, p.key.prompt});
  const std::string body = answer_body(beacon_protocol, id, p, std::move(reply.text), out.delay);

  switch (mode.mode) {
    case Mode::malformed:
      out.response = json_response(http::status::ok, v, body.substr(0, body.size() / 2));
      return out;
    case Mode::reset: {
      out.kind = Outcome::Kind::partial_then_close;
      out.partial = "HTTP/1.1 200 OK\r\nServer: beacon-infer-sim\r\nContent-Type: application/json\r\n"
                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, body.size() / 2);
      return out;
    }
    case Mode::oversized: {
      Parsed big = p;
      big.max_tokens = 0;
      out.response = json_response(http::status::ok, v,
                                   answer_body(beacon_protocol, id, big, std::string(kOversized, 'x'), out.delay));
      return out;
    }
    case Mode::long_answer: {
      Parsed big = p;
      big.max_tokens = 0;
      out.response = json_response(http::status::ok, v,
                                   answer_body(beacon_protocol, id, big, std::string(kLongAnswer, 'l'), out.delay));
      out.completes = p.key;
      return out;
    }
    case Mode::redirect: {
      remember(id, body);
      out.response = json_response(http::status::see_other, v, "");
      std::string host(req[http::field::host].data(), req[http::field::host].size());
      if (!mode.redirect_host.empty()) {
        // Another origin for the same sim: the chosen host, the port the request came to.
        const auto colon = host.rfind(':');
        host = mode.redirect_host + (colon == std::string::npos ? "" : host.substr(colon));
      }
      const std::string location = host.empty() ? "/result/" + id
                                                : std::string(tls ? "https://" : "http://") + host + "/result/" + id;
      out.response.set(http::field::location, location);
      out.completes = p.key;
      return out;
    }
    default:  // normal, slow
      out.response = json_response(http::status::ok, v, body);
      out.completes = p.key;
      return out;
  }
}

Outcome SimApp::result(const std::string& id, unsigned version) {
  std::string body;
  {
    std::lock_guard lock(mutex_);
    auto it = results_.find(id);
    if (it != results_.end()) body = it->second;
  }
  if (body.empty())
    return respond(json_response(http::status::not_found, version,
                                 error_body(false, "invalid_request_error", "no result " + id, 404)));
  return respond(json_response(http::status::ok, version, std::move(body)));
}

void SimApp::remember(const std::string& id, const std::string& body) {
  constexpr std::size_t kKeep = 10000;
  std::lock_guard lock(mutex_);
  results_[id] = body;
  result_order_.push_back(id);
  while (result_order_.size() > kKeep) {
    results_.erase(result_order_.front());
    result_order_.pop_front();
  }
}

}  // namespace beacon::sim
