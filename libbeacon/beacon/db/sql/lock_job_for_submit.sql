-- Locks an existing job for a re-submit (concurrent submits of one id queue
-- here) and says whether its stored spec equals the given one. jsonb equality:
-- key order and number spelling do not matter. The budget may differ (raise
-- it to resume a job it stopped, migrations/0009) and so may the priority
-- (the job's lane weight, migrations/0014): resubmit_job.sql stores the new
-- spec, lanes.cpp the new weight.
-- $1 job_id, $2 canonical spec (JSON text)
SELECT (spec - 'budget' - 'priority') = ($2::jsonb - 'budget' - 'priority') AS same_spec
FROM jobs
WHERE job_id = $1
FOR UPDATE
