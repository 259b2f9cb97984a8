#pragma once
// A column that may be NULL, read as std::optional.
#include <optional>

#include <pqxx/field>

namespace beacon::db {

template <class T>
std::optional<T> nullable(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

}  // namespace beacon::db
