#pragma once
// The one place that keeps Postgres passwords out of messages (issue 8 item 10).
//
// libpq quotes pieces of the connection string in its errors ('missing "="
// after "..."', 'invalid integer value "..." for connection option "port"',
// 'could not translate host name "..."'), and a malformed URL puts pieces of
// the password exactly there: with an unencoded '/' in the password, libpq
// reads its first half as the port. So every text that may carry a piece of
// BEACON_DATABASE_URL (libpq errors, describe_target) goes through
// redact_conninfo_text before it is printed or logged.
#include <string>
#include <string_view>

namespace beacon::db {

// `text` with every piece of a password that `url` may hold replaced by ***.
// "May hold" is read from the text as written, not as libpq parses it (a
// malformed URL is exactly where the two differ): in a scheme://… string,
// everything between the first ':' after "://" and the last '@'; and every
// password=VALUE (URI query or key=value form; quoted, escaped, or running to
// the next "key=" / '&'). Masked: each double-quoted token of `text` that
// overlaps such a region of `url` or is part of it (raw or percent-decoded),
// and anywhere in `text`, the password and each of its pieces of 3 characters
// or more between URL punctuation (/ @ : ? # & = quotes, spaces).
std::string redact_conninfo_text(std::string_view text, std::string_view url);

// One value libpq parsed out of `url` (host, port, user, dbname), or *** when
// it is, contains or overlaps a piece of a password (see above).
std::string redact_conninfo_field(std::string_view value, std::string_view url);

// Checks `url` the way libpq will read it, before a program touches anything:
// libpq must parse it, every port must be a number 1..65535, and in a
// postgresql:// URI an '@' may appear once, before the host (a password with
// an unencoded '/' or '@' must be percent-encoded: %2F, %40). Throws BadInput
// "<variable>: ..." with libpq's reason redacted.
void validate_database_url(std::string_view url, std::string_view variable);

}  // namespace beacon::db
