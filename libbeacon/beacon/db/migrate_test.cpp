#include <beacon/db/migrate.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <unistd.h>

#include <fstream>

namespace beacon::db {
namespace {
namespace fs = std::filesystem;

TEST(ListMigrations, SqlFilesInLexicalOrder) {
  const fs::path dir = fs::temp_directory_path() / ("beacon-migrate-test-" + std::to_string(::getpid()));
  fs::create_directories(dir / "0003_dir.sql");  // a directory, not a migration
  for (const char* name : {"0010_b.sql", "0002_a.sql", "README.md", "0001_z.sql"}) std::ofstream(dir / name) << "";
  const auto files = list_migrations(dir);
  fs::remove_all(dir);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].filename(), "0001_z.sql");
  EXPECT_EQ(files[1].filename(), "0002_a.sql");
  EXPECT_EQ(files[2].filename(), "0010_b.sql");
}

TEST(ListMigrations, MissingDirectoryIsAnError) {
  EXPECT_THROW(list_migrations("/nonexistent/beacon/migrations"), std::runtime_error);
}

TEST(DefaultMigrationsDir, EnvironmentWins) {
  ::setenv("BEACON_MIGRATIONS_DIR", "/somewhere/else", 1);
  EXPECT_EQ(default_migrations_dir(), fs::path("/somewhere/else"));
  ::unsetenv("BEACON_MIGRATIONS_DIR");
}

TEST(DefaultMigrationsDir, FindsTheRepositoryMigrations) {
  ::unsetenv("BEACON_MIGRATIONS_DIR");
  const fs::path dir = default_migrations_dir();
  EXPECT_TRUE(fs::exists(dir / "0001_schema.sql")) << dir;
}

}  // namespace
}  // namespace beacon::db
