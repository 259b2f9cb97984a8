-- The record of applied migrations (SPEC.md). Created by the migrator itself,
-- under the migration lock, before the first migration is looked at.
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    text PRIMARY KEY,           -- file name without .sql, e.g. 0001_schema
  applied_at timestamptz NOT NULL DEFAULT now()
)
