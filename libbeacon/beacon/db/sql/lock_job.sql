-- Locks a job row (first step of every write to its executions; see the
-- locking protocol in migrations/0001_schema.sql). $1 job_id
SELECT status FROM jobs WHERE job_id = $1 FOR UPDATE
