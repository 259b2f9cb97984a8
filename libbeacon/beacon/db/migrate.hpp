#pragma once
// Schema migrations: the *.sql files of migrations/, applied in lexical order,
// each exactly once per database (schema_migrations records them).
#include <filesystem>
#include <string>
#include <vector>

#include <pqxx/connection>

namespace beacon::db {

// The *.sql files of `dir` in the order they are applied (lexical by name).
// Throws std::runtime_error when `dir` is not a readable directory.
std::vector<std::filesystem::path> list_migrations(const std::filesystem::path& dir);

// Applies every migration of `dir` not yet recorded, each in its own
// transaction together with its schema_migrations row; returns how many it
// applied. Each transaction holds a transaction-level advisory lock, so
// migrators running at once (several pods starting) queue: all succeed, none
// applies a file twice. The version is the file name without ".sql". Tables
// go to the first schema of the connection's search_path.
// Throws DatabaseUnavailable when the connection is lost, pqxx::sql_error when
// a migration fails (that migration and later ones are then not applied).
int apply_migrations(pqxx::connection& conn, const std::filesystem::path& dir);

// Where the migrations are: $BEACON_MIGRATIONS_DIR when set (as given), else
// the first directory of <exe dir>/../migrations,
// <exe dir>/../share/beacon/migrations, <source tree>/migrations.
// Throws std::runtime_error naming every place it looked.
std::filesystem::path default_migrations_dir();

}  // namespace beacon::db
