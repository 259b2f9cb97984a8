-- One batch of a new job's planned executions, all pending.
-- $1 job_id, $2 JSON array of [region, model_id, question_id, sample, question_ord]
INSERT INTO executions (job_id, region, model_id, question_id, sample, question_ord)
SELECT $1, x ->> 0, x ->> 1, x ->> 2, (x ->> 3)::integer, (x ->> 4)::integer
FROM jsonb_array_elements($2::jsonb) AS x
