#include <beacon/core/json.hpp>

#include <rapidjson/error/en.h>

namespace beacon::json {

Document parse(std::string_view text) {
  Document doc;
  // kParseValidateEncodingFlag rejects invalid UTF-8 instead of storing it.
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    throw BadInput(std::string("invalid JSON at offset ") + std::to_string(doc.GetErrorOffset()) + ": " +
                   rapidjson::GetParseError_En(doc.GetParseError()));
  }
  return doc;
}

const Value& require_object(const Value& v, std::string_view what) {
  if (!v.IsObject()) throw BadInput(std::string(what) + " must be a JSON object");
  return v;
}

static const Value* member(const Value& obj, const char* field) {
  auto it = obj.FindMember(field);
  if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

std::optional<std::string> get_optional_string(const Value& obj, const char* field) {
  const Value* v = member(obj, field);
  if (!v) return std::nullopt;
  if (!v->IsString()) throw BadInput(std::string("field '") + field + "' must be a string");
  return std::string(v->GetString(), v->GetStringLength());
}

std::string get_string(const Value& obj, const char* field) {
  auto s = get_optional_string(obj, field);
  if (!s) throw BadInput(std::string("missing field '") + field + "'");
  return *s;
}

std::optional<std::int64_t> get_optional_int(const Value& obj, const char* field) {
  const Value* v = member(obj, field);
  if (!v) return std::nullopt;
  if (!v->IsInt64()) throw BadInput(std::string("field '") + field + "' must be an integer");
  return v->GetInt64();
}

std::int64_t get_int(const Value& obj, const char* field) {
  auto i = get_optional_int(obj, field);
  if (!i) throw BadInput(std::string("missing field '") + field + "'");
  return *i;
}

std::optional<double> get_optional_number(const Value& obj, const char* field) {
  const Value* v = member(obj, field);
  if (!v) return std::nullopt;
  if (!v->IsNumber()) throw BadInput(std::string("field '") + field + "' must be a number");
  return v->GetDouble();
}

std::string to_string(const Value& v) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

void write_raw(Writer& w, const char* key, std::string_view raw) {
  w.Key(key);
  w.RawValue(raw.data(), raw.size(), rapidjson::kObjectType);
}

}  // namespace beacon::json
