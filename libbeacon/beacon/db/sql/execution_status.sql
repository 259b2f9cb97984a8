-- $1 job_id, $2 region, $3 model_id, $4 question_id, $5 sample
SELECT status
FROM executions
WHERE job_id = $1 AND region = $2 AND model_id = $3 AND question_id = $4 AND sample = $5::integer
