-- Locks an existing job for a re-submit (concurrent submits of one id queue
-- here) and says whether its stored spec equals the given one. jsonb equality:
-- key order and number spelling do not matter.
-- $1 job_id, $2 canonical spec (JSON text)
SELECT spec = $2::jsonb AS same_spec
FROM jobs
WHERE job_id = $1
FOR UPDATE
