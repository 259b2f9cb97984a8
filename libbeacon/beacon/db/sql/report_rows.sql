-- A cursor over a job's executions as `report` reads them: ordered by
-- question (the database's collation: the order the report lists them in),
-- then model and sample in byte order (the report's group order), region
-- last; the answer text only of completed rows (the rest only count).
-- $1 job_id
DECLARE report_rows NO SCROLL CURSOR FOR
SELECT question_id, model_id, sample, region, status, coalesce(classification, ''),
       CASE WHEN status = 'completed' AND jsonb_typeof(output -> 'text') = 'string' THEN output ->> 'text' ELSE '' END
FROM executions
WHERE job_id = $1
ORDER BY question_id, model_id COLLATE "C", sample, region COLLATE "C"
