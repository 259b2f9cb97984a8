-- $1 job_id. Status and how many times the job was submitted: a worker
-- treats a message of an earlier submission as possibly done already.
SELECT status, submissions FROM jobs WHERE job_id = $1
