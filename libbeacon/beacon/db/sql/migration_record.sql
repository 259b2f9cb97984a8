-- $1: version, recorded in the transaction that applied it.
INSERT INTO schema_migrations (version) VALUES ($1)
