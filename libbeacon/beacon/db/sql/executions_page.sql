-- One page of a job's executions in key order, after the key ($2..$5) of the
-- last row of the previous page (keyset pagination: each page is a primary
-- key range scan, however deep into a million rows). The first page starts
-- after ('', '', '', -1), below every real key (samples are >= 0).
-- $1 job_id, $2 region, $3 model_id, $4 question_id, $5 sample, $6 page size
SELECT region, model_id, question_id, sample, status, attempts, worker_id,
       output::text, classification, receipt::text, error::text,
       latency_ms, prompt_tokens, completion_tokens,
       beacon_rfc3339(started_at), beacon_rfc3339(completed_at), beacon_rfc3339(updated_at), seed, cost_usd,
       reused_from::text
FROM executions
WHERE job_id = $1
  AND (region, model_id, question_id, sample) > ($2, $3, $4, $5::integer)
ORDER BY region, model_id, question_id, sample
LIMIT $6::integer
