-- $1 job_id
SELECT status FROM jobs WHERE job_id = $1
