-- Locks an existing job for a re-submit (concurrent submits of one id queue
-- here) and says whether its stored spec equals the given one. jsonb equality:
-- key order and number spelling do not matter. The budget may differ (raise
-- it to resume a job it stopped, migrations/0009): resubmit_job.sql stores
-- the new one.
-- $1 job_id, $2 canonical spec (JSON text)
SELECT (spec - 'budget') = ($2::jsonb - 'budget') AS same_spec
FROM jobs
WHERE job_id = $1
FOR UPDATE
