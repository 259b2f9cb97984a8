#pragma once
// JSON that Postgres `jsonb` always accepts.
//
// jsonb refuses the escape \u0000 and text that is not valid UTF-8, and one
// refused value fails the whole statement. Model output is arbitrary text, so
// a single odd response must not poison a batch of events or a registration:
// every string written through these helpers is cleaned first.
#include <string>
#include <string_view>

#include <beacon/core/json.hpp>

namespace beacon::db {

// `text` with every NUL and every byte that is not part of a valid UTF-8
// sequence (overlong forms, surrogates, > U+10FFFF included) replaced by
// U+FFFD. Valid text is returned unchanged.
std::string clean_text(std::string_view text);

// Writes clean_text(text) as a JSON string.
void write_string(json::Writer& w, std::string_view text);

// Writes a number, or null when it is NaN or infinite (JSON has no such
// numbers, and RapidJSON would leave a dangling key).
void write_number(json::Writer& w, double v);

// Writes `v` (any JSON value) with every key and string cleaned.
void write_value(json::Writer& w, const json::Value& v);

// A JSON array of the strings of `items`, each cleaned, in their order: a
// jsonb parameter a statement expands with jsonb_array_elements_text.
template <class Strings>
std::string string_array(const Strings& items) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartArray();
  for (const auto& s : items) write_string(w, s);
  w.EndArray();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace beacon::db
