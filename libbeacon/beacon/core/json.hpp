#pragma once
// Small helpers over RapidJSON: typed getters that throw BadInput naming the
// field, and a writer shortcut. Everything read from the network goes through
// these, so a wrong type becomes a clear error instead of an assert.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <beacon/core/errors.hpp>

namespace beacon::json {

using Value = rapidjson::Value;
using Document = rapidjson::Document;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Parses text into a document; throws BadInput("invalid JSON at offset N: ...")
// for invalid JSON and for invalid UTF-8.
Document parse(std::string_view text);

const Value& require_object(const Value& v, std::string_view what);
std::string get_string(const Value& obj, const char* field);
std::optional<std::string> get_optional_string(const Value& obj, const char* field);
std::int64_t get_int(const Value& obj, const char* field);
std::optional<std::int64_t> get_optional_int(const Value& obj, const char* field);
std::optional<double> get_optional_number(const Value& obj, const char* field);

// Serialises any value back to compact JSON text.
std::string to_string(const Value& v);

// Writes `key` then the raw JSON text `raw` (must be valid JSON) into w.
void write_raw(Writer& w, const char* key, std::string_view raw);

}  // namespace beacon::json
