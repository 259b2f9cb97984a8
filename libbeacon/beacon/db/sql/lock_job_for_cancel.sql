-- Locks a job row for a cancel and returns what the cancel needs: its status
-- (a finished job is left alone) and the submission the cancel is for.
-- $1 job_id
SELECT status, submissions FROM jobs WHERE job_id = $1 FOR UPDATE
