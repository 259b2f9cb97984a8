-- Keys of a job's executions that are not completed. $1 job_id
SELECT region, model_id, question_id, sample
FROM executions
WHERE job_id = $1 AND status <> 'completed'
