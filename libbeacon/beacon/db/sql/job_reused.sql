-- The job's completed executions whose answer was copied from an earlier job
-- (maintained by apply_events.sql, migrations/0010). $1 job_id
SELECT reused FROM jobs WHERE job_id = $1
