#pragma once
// RFC 3339 timestamps from the wire, checked before they reach SQL.
//
// A result event carries times written by a worker. If one of them were
// malformed and cast in SQL, the cast would fail the whole batch, and the
// progress-writer would redeliver it forever. So the times are parsed here and
// handed to Postgres as integers; a time that does not parse is simply absent
// (the database then uses its own clock).
#include <cstdint>
#include <optional>
#include <string_view>

namespace beacon::db {

// Microseconds since 1970-01-01T00:00:00Z for an RFC 3339 date-time
// ("2026-11-23T10:00:00.123Z", "2026-11-23T12:00:00+02:00"; 't'/' ' for 'T'
// and 'z' for 'Z' accepted, fraction of any length truncated to microseconds).
// std::nullopt for anything else, including impossible dates (Feb 30) and
// years outside 0001..9999.
std::optional<std::int64_t> parse_rfc3339_us(std::string_view text);

}  // namespace beacon::db
