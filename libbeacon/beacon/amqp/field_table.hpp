#pragma once
// Conversions between AMQP field tables (rabbitmq-c's amqp_table_t) and the
// plain string maps beacon uses for message headers and declare arguments.
#include <beacon/amqp/headers.hpp>

#include <amqp.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace beacon::amqp {

// A header value as text: strings and byte strings as they are, integers and
// timestamps in decimal, booleans as "true"/"false", floats and decimals in
// their shortest decimal form. Void, arrays and nested tables (x-death, for
// one) have no string form: nullopt.
std::optional<std::string> field_to_string(const amqp_field_value_t& value);

// Every entry of `table` that field_to_string can express; the rest are
// skipped (beacon's own headers are all strings).
Headers headers_from_table(const amqp_table_t& table);

// An amqp_table_t together with the storage its entries point into. The view
// from table() stays valid while this object lives and is not modified: build
// it, pass table() to one rabbitmq-c call, let it go.
class FieldTable {
 public:
  FieldTable() = default;
  explicit FieldTable(const Headers& headers);
  FieldTable(const FieldTable&) = delete;
  FieldTable& operator=(const FieldTable&) = delete;

  // A later entry with the same key replaces the earlier one.
  FieldTable& set(std::string key, std::string value);
  FieldTable& set(std::string key, std::int64_t value);
  bool empty() const { return fields_.empty(); }

  amqp_table_t table();

 private:
  std::map<std::string, std::variant<std::string, std::int64_t>> fields_;
  std::vector<amqp_table_entry_t> entries_;
};

}  // namespace beacon::amqp
