-- Serialises migrators until the transaction ends. $1: the lock key.
SELECT pg_advisory_xact_lock($1::bigint)
