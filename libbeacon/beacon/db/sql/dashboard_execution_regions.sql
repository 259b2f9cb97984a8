-- The same (model, question, sample) in every region of the job: the
-- cross-region comparison of one execution's detail, same columns as
-- executions_page.sql. Uses the (job_id, question_id) index: one question's rows.
-- $1 job_id, $2 model_id, $3 question_id, $4 sample
SELECT region, model_id, question_id, sample, status, attempts, worker_id,
       output::text, classification, receipt::text, error::text,
       latency_ms, prompt_tokens, completion_tokens,
       beacon_rfc3339(started_at), beacon_rfc3339(completed_at), beacon_rfc3339(updated_at), seed, cost_usd,
       reused_from::text
FROM executions
WHERE job_id = $1 AND model_id = $2 AND question_id = $3 AND sample = $4::integer
ORDER BY region
