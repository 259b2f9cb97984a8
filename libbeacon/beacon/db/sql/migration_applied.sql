-- $1: version. A row when that migration is already applied.
SELECT 1 FROM schema_migrations WHERE version = $1
