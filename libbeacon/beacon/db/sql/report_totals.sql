-- A job's execution count and completed count, for the report's head line. $1 job_id
SELECT count(*), count(*) FILTER (WHERE status = 'completed')
FROM executions
WHERE job_id = $1
