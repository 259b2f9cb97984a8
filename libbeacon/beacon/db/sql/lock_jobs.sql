-- First step of applying a batch of events: lock the jobs it concerns, in
-- job_id order (the locking protocol of migrations/0001_schema.sql), so
-- progress-writers, submit and cancel queue per job instead of deadlocking.
-- $1 JSON array of job ids
SELECT job_id
FROM jobs
WHERE job_id IN (SELECT jsonb_array_elements_text($1::jsonb))
ORDER BY job_id
FOR UPDATE
