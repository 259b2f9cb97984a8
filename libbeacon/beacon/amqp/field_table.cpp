#include <beacon/amqp/field_table.hpp>

#include <charconv>
#include <cmath>

namespace beacon::amqp {
namespace {

std::string from_bytes(amqp_bytes_t b) {
  return b.len == 0 ? std::string() : std::string(static_cast<const char*>(b.bytes), b.len);
}

amqp_bytes_t to_bytes(const std::string& s) {
  amqp_bytes_t b;
  b.len = s.size();
  b.bytes = const_cast<char*>(s.data());  // rabbitmq-c only reads it
  return b;
}

// The shortest text that reads back as the same value ("0.5", "1e+20").
template <class Float>
std::string shortest(Float d) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, result.ptr);
}

}  // namespace

std::optional<std::string> field_to_string(const amqp_field_value_t& v) {
  switch (v.kind) {
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES:
      return from_bytes(v.value.bytes);
    case AMQP_FIELD_KIND_BOOLEAN:
      return std::string(v.value.boolean ? "true" : "false");
    case AMQP_FIELD_KIND_I8:
      return std::to_string(v.value.i8);
    case AMQP_FIELD_KIND_U8:
      return std::to_string(v.value.u8);
    case AMQP_FIELD_KIND_I16:
      return std::to_string(v.value.i16);
    case AMQP_FIELD_KIND_U16:
      return std::to_string(v.value.u16);
    case AMQP_FIELD_KIND_I32:
      return std::to_string(v.value.i32);
    case AMQP_FIELD_KIND_U32:
      return std::to_string(v.value.u32);
    case AMQP_FIELD_KIND_I64:
      return std::to_string(v.value.i64);
    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_TIMESTAMP:
      return std::to_string(v.value.u64);
    case AMQP_FIELD_KIND_F32:
      return shortest(v.value.f32);
    case AMQP_FIELD_KIND_F64:
      return shortest(v.value.f64);
    case AMQP_FIELD_KIND_DECIMAL:
      return shortest(static_cast<double>(v.value.decimal.value) /
                      std::pow(10.0, v.value.decimal.decimals));
    default:  // void, array, table
      return std::nullopt;
  }
}

Headers headers_from_table(const amqp_table_t& table) {
  Headers out;
  for (int i = 0; i < table.num_entries; ++i) {
    const amqp_table_entry_t& e = table.entries[i];
    if (auto text = field_to_string(e.value)) out[from_bytes(e.key)] = std::move(*text);
  }
  return out;
}

FieldTable::FieldTable(const Headers& headers) {
  for (const auto& [key, value] : headers) set(key, value);
}

FieldTable& FieldTable::set(std::string key, std::string value) {
  fields_[std::move(key)] = std::move(value);
  return *this;
}

FieldTable& FieldTable::set(std::string key, std::int64_t value) {
  fields_[std::move(key)] = value;
  return *this;
}

amqp_table_t FieldTable::table() {
  entries_.clear();
  entries_.reserve(fields_.size());
  for (const auto& [key, value] : fields_) {
    amqp_table_entry_t e{};
    e.key = to_bytes(key);
    if (const auto* s = std::get_if<std::string>(&value)) {
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      e.value.value.bytes = to_bytes(*s);
    } else {
      // RabbitMQ reads x-delivery-limit and friends as signed 64-bit ('l').
      e.value.kind = AMQP_FIELD_KIND_I64;
      e.value.value.i64 = std::get<std::int64_t>(value);
    }
    entries_.push_back(e);
  }
  amqp_table_t t;
  t.num_entries = static_cast<int>(entries_.size());
  t.entries = entries_.empty() ? nullptr : entries_.data();
  return t;
}

}  // namespace beacon::amqp
