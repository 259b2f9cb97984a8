#include <beacon/db/pg_json.hpp>

#include <cmath>

namespace beacon::db {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence (without NUL) starting at text[i], or 0.
std::size_t valid_sequence(std::string_view text, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = b(i);
  if (c == 0) return 0;
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // no overlong forms
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return n;
}

}  // namespace

std::string clean_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (std::size_t n = valid_sequence(text, i)) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out.append(kReplacement);
      ++i;
    }
  }
  return out;
}

void write_string(json::Writer& w, std::string_view text) {
  const std::string clean = clean_text(text);
  w.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()));
}

void write_number(json::Writer& w, double v) {
  if (std::isfinite(v))
    w.Double(v);
  else
    w.Null();
}

void write_value(json::Writer& w, const json::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kStringType:
      write_string(w, std::string_view(v.GetString(), v.GetStringLength()));
      return;
    case rapidjson::kObjectType:
      w.StartObject();
      for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
        const std::string key = clean_text(std::string_view(it->name.GetString(), it->name.GetStringLength()));
        w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
        write_value(w, it->value);
      }
      w.EndObject();
      return;
    case rapidjson::kArrayType:
      w.StartArray();
      for (const auto& item : v.GetArray()) write_value(w, item);
      w.EndArray();
      return;
    default:
      v.Accept(w);  // null, bool, number: nothing to clean
      return;
  }
}

}  // namespace beacon::db
