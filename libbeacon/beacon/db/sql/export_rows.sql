-- A cursor over a job's executions as `export` writes them, in key order
-- (region, model, question, sample), optionally only those in one status.
-- Postgres hands over the answer as the JSON string of output's "text"
-- (jsonb's own escaping; any other value of "text" is not a string and is
-- written as null), so the client never parses the stored output.
-- $1 job_id, $2 status or NULL for every status
DECLARE export_rows NO SCROLL CURSOR FOR
SELECT region, model_id, question_id, sample, status, classification,
       (output -> 'text')::text, latency_ms, prompt_tokens, completion_tokens, attempts, seed, cost_usd,
       reused_from::text, worker_id, error::text, receipt::text,
       beacon_rfc3339(started_at), beacon_rfc3339(completed_at)
FROM executions
WHERE job_id = $1 AND ($2::text IS NULL OR status = $2::text)
ORDER BY region, model_id, question_id, sample
