#include <beacon/core/messages.hpp>

#include <beacon/core/json.hpp>

namespace beacon {
namespace {

void write_key(json::Writer& w, const ExecutionKey& k) {
  w.Key("job_id"); w.String(k.job_id.c_str(), k.job_id.size());
  w.Key("region"); w.String(k.region.c_str(), k.region.size());
  w.Key("model_id"); w.String(k.model_id.c_str(), k.model_id.size());
  w.Key("question_id"); w.String(k.question_id.c_str(), k.question_id.size());
  w.Key("sample"); w.Int(k.sample);
}

void write_str(json::Writer& w, const char* key, const std::string& v) {
  w.Key(key);
  w.String(v.c_str(), v.size());
}

void check_id(const std::string& value, const char* field, bool may_be_empty = false) {
  if (may_be_empty && value.empty()) return;
  if (!is_valid_id(value)) throw BadInput(std::string("field '") + field + "' is not a valid id");
}

ExecutionKey read_key(const json::Value& o) {
  ExecutionKey k;
  k.job_id = json::get_string(o, "job_id");
  k.region = json::get_string(o, "region");
  k.model_id = json::get_string(o, "model_id");
  k.question_id = json::get_optional_string(o, "question_id").value_or("");
  auto sample = json::get_int(o, "sample");
  check_id(k.job_id, "job_id");
  check_id(k.region, "region");
  check_id(k.model_id, "model_id");
  check_id(k.question_id, "question_id", true);
  if (sample < 0 || sample >= 1000) throw BadInput("field 'sample' out of range");
  k.sample = static_cast<int>(sample);
  return k;
}

const json::Value& read_envelope(json::Document& doc, std::string_view body, std::size_t max_bytes) {
  if (body.size() > max_bytes)
    throw BadInput("message of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
                   std::to_string(max_bytes));
  doc = json::parse(body);
  json::require_object(doc, "message");
  auto v = json::get_optional_int(doc, "v");
  if (!v) throw BadInput("missing field 'v'");
  if (*v != kWireVersion) throw BadInput("unsupported wire version v=" + std::to_string(*v));
  return doc;
}

bool is_request_digest(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

std::string_view to_string(Classification c) {
  switch (c) {
    case Classification::answered: return "answered";
    case Classification::refused: return "refused";
    case Classification::empty: return "empty";
  }
  return "answered";
}

std::optional<Classification> parse_classification(std::string_view s) {
  for (auto c : {Classification::answered, Classification::refused, Classification::empty})
    if (to_string(c) == s) return c;
  return std::nullopt;
}

std::string encode(const ExecutionMessage& m) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("v"); w.Int(kWireVersion);
  write_key(w, m.key);
  write_str(w, "prompt", m.prompt);
  write_str(w, "system_prompt", m.system_prompt);
  json::write_raw(w, "params", m.params_json.empty() ? "{}" : m.params_json);
  write_str(w, "enqueued_at", m.enqueued_at);
  w.Key("submission"); w.Int(m.submission);
  if (m.reuse != ReusePolicy::none) write_str(w, "reuse", std::string(to_string(m.reuse)));
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

ExecutionMessage decode_execution(std::string_view body) {
  json::Document doc;
  const auto& o = read_envelope(doc, body, kMaxMessageBytes);
  ExecutionMessage m;
  m.key = read_key(o);
  m.prompt = json::get_optional_string(o, "prompt").value_or("");
  m.system_prompt = json::get_optional_string(o, "system_prompt").value_or("");
  auto params = o.FindMember("params");
  if (params != o.MemberEnd() && !params->value.IsNull()) {
    if (!params->value.IsObject()) throw BadInput("field 'params' must be an object");
    m.params_json = json::to_string(params->value);
  }
  m.enqueued_at = json::get_optional_string(o, "enqueued_at").value_or("");
  auto submission = json::get_optional_int(o, "submission").value_or(1);
  if (submission < 1) throw BadInput("field 'submission' must be >= 1");
  m.submission = static_cast<int>(submission);
  if (auto reuse = json::get_optional_string(o, "reuse")) {
    auto policy = parse_reuse_policy(*reuse);
    if (!policy) throw BadInput("field 'reuse' must be \"completed\" or absent");
    m.reuse = *policy;
  }
  return m;
}

std::string encode(const ResultEvent& e) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("v"); w.Int(kWireVersion);
  w.Key("event"); auto ev = to_string(e.event); w.String(ev.data(), ev.size());
  write_key(w, e.key);
  write_str(w, "worker_id", e.worker_id);
  w.Key("attempt"); w.Int(e.attempt);
  w.Key("submission"); w.Int(e.submission);
  if (e.seed) { w.Key("seed"); w.Int64(*e.seed); }
  if (e.cost_usd) { w.Key("cost_usd"); w.Double(*e.cost_usd); }
  if (e.request_digest) write_str(w, "request_digest", *e.request_digest);
  if (e.reused_from) {
    w.Key("reused_from");
    w.StartObject();
    write_key(w, *e.reused_from);
    w.EndObject();
  }
  if (!e.started_at.empty()) write_str(w, "started_at", e.started_at);
  if (!e.completed_at.empty()) write_str(w, "completed_at", e.completed_at);
  if (e.output) {
    w.Key("output");
    w.StartObject();
    write_str(w, "text", e.output->text);
    w.Key("classification"); auto c = to_string(e.output->classification); w.String(c.data(), c.size());
    write_str(w, "finish_reason", e.output->finish_reason);
    w.Key("usage");
    w.StartObject();
    if (e.output->prompt_tokens) { w.Key("prompt_tokens"); w.Int64(*e.output->prompt_tokens); }
    if (e.output->completion_tokens) { w.Key("completion_tokens"); w.Int64(*e.output->completion_tokens); }
    w.EndObject();
    w.EndObject();
  }
  if (e.receipt) {
    w.Key("receipt");
    w.StartObject();
    write_str(w, "endpoint", e.receipt->endpoint);
    write_str(w, "provider_id", e.receipt->provider_id);
    w.Key("http_status"); w.Int(e.receipt->http_status);
    w.Key("latency_ms"); w.Double(e.receipt->latency_ms);
    if (!e.receipt->provider_receipt_json.empty()) json::write_raw(w, "provider", e.receipt->provider_receipt_json);
    w.EndObject();
  }
  if (e.error) {
    w.Key("error");
    w.StartObject();
    write_str(w, "kind", std::string(to_string(e.error->kind)));
    write_str(w, "message", e.error->message);
    if (e.error->reason) write_str(w, "reason", std::string(to_string(*e.error->reason)));
    w.EndObject();
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

ResultEvent decode_event(std::string_view body) {
  json::Document doc;
  const auto& o = read_envelope(doc, body, kMaxEventBytes);
  ResultEvent e;
  auto kind = parse_event_kind(json::get_string(o, "event"));
  if (!kind) throw BadInput("field 'event' must be started, completed, failed or cancelled");
  e.event = *kind;
  e.key = read_key(o);
  e.worker_id = json::get_optional_string(o, "worker_id").value_or("");
  auto attempt = json::get_optional_int(o, "attempt").value_or(1);
  if (attempt < 1 || attempt > 1000000) throw BadInput("field 'attempt' out of range");
  e.attempt = static_cast<int>(attempt);
  auto submission = json::get_optional_int(o, "submission").value_or(1);
  if (submission < 1 || submission > 1000000) throw BadInput("field 'submission' out of range");
  e.submission = static_cast<int>(submission);
  e.seed = json::get_optional_int(o, "seed");
  e.cost_usd = json::get_optional_number(o, "cost_usd");
  if (e.cost_usd && !(*e.cost_usd >= 0 && *e.cost_usd < 1e9)) throw BadInput("field 'cost_usd' out of range");
  e.request_digest = json::get_optional_string(o, "request_digest");
  if (e.request_digest && !is_request_digest(*e.request_digest))
    throw BadInput("field 'request_digest' must be 64 lower-case hex digits");
  if (auto it = o.FindMember("reused_from"); it != o.MemberEnd() && !it->value.IsNull())
    e.reused_from = read_key(json::require_object(it->value, "field 'reused_from'"));
  e.started_at = json::get_optional_string(o, "started_at").value_or("");
  e.completed_at = json::get_optional_string(o, "completed_at").value_or("");
  if (auto it = o.FindMember("output"); it != o.MemberEnd() && !it->value.IsNull()) {
    const auto& out = json::require_object(it->value, "field 'output'");
    Output x;
    x.text = json::get_optional_string(out, "text").value_or("");
    auto cls = json::get_optional_string(out, "classification").value_or("answered");
    auto parsed = parse_classification(cls);
    if (!parsed) throw BadInput("field 'output.classification' must be answered, refused or empty");
    x.classification = *parsed;
    x.finish_reason = json::get_optional_string(out, "finish_reason").value_or("");
    if (auto u = out.FindMember("usage"); u != out.MemberEnd() && u->value.IsObject()) {
      x.prompt_tokens = json::get_optional_int(u->value, "prompt_tokens");
      x.completion_tokens = json::get_optional_int(u->value, "completion_tokens");
    }
    e.output = std::move(x);
  }
  if (auto it = o.FindMember("receipt"); it != o.MemberEnd() && !it->value.IsNull()) {
    const auto& r = json::require_object(it->value, "field 'receipt'");
    Receipt x;
    x.endpoint = json::get_optional_string(r, "endpoint").value_or("");
    x.provider_id = json::get_optional_string(r, "provider_id").value_or("");
    x.http_status = static_cast<int>(json::get_optional_int(r, "http_status").value_or(0));
    x.latency_ms = json::get_optional_number(r, "latency_ms").value_or(0);
    if (auto p = r.FindMember("provider"); p != r.MemberEnd() && p->value.IsObject())
      x.provider_receipt_json = json::to_string(p->value);
    e.receipt = std::move(x);
  }
  if (auto it = o.FindMember("error"); it != o.MemberEnd() && !it->value.IsNull()) {
    const auto& r = json::require_object(it->value, "field 'error'");
    const auto kind_text = json::get_optional_string(r, "kind").value_or("unknown");
    auto message = json::get_optional_string(r, "message").value_or("");
    const auto kind = parse_error_kind(kind_text);
    // A kind this build does not know (a newer worker) is stored as `unknown`
    // with its name kept in the message: nothing the worker said is lost.
    if (!kind) message = "(kind '" + kind_text + "') " + message;
    e.error = ErrorInfo{kind.value_or(ErrorKind::unknown), std::move(message)};
    // A reason this build does not know stays in the message, like a kind.
    if (auto reason = json::get_optional_string(r, "reason")) {
      e.error->reason = parse_cancel_reason(*reason);
      if (!e.error->reason) e.error->message = "(reason '" + *reason + "') " + e.error->message;
    }
  }
  return e;
}

}  // namespace beacon
