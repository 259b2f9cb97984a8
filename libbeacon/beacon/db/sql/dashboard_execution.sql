-- One execution by its full key, same columns as executions_page.sql (the
-- dashboard's execution detail). $1 job_id, $2 region, $3 model_id, $4 question_id, $5 sample
SELECT region, model_id, question_id, sample, status, attempts, worker_id,
       output::text, classification, receipt::text, error::text,
       latency_ms, prompt_tokens, completion_tokens,
       beacon_rfc3339(started_at), beacon_rfc3339(completed_at), beacon_rfc3339(updated_at), seed, cost_usd,
       reused_from::text
FROM executions
WHERE (job_id, region, model_id, question_id, sample) = ($1, $2, $3, $4, $5::integer)
