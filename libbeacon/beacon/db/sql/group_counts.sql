-- Per-question, per-region or per-model progress of one job, from the
-- maintained counters (job_group_counts, migration 0003): a few rows however
-- large the job. Questions come in spec order (ord), regions and models by name.
-- Latency percentiles need the rows: they are in the *_progress views.
-- $1 job_id, $2 dimension: question | region | model
SELECT group_id, total, pending, running, completed, failed, cancelled, refused,
       beacon_job_progress(total, completed + failed + cancelled)::double precision,
       CASE WHEN latency_count > 0 THEN latency_sum_ms / latency_count END,
       NULL::double precision,
       prompt_tokens, completion_tokens,
       CASE WHEN cost_count > 0 THEN cost_usd END,  -- NULL: nothing priced was answered
       completed - cost_count                       -- completed without a price (unpriced endpoints)
FROM job_group_counts
WHERE job_id = $1 AND dimension = $2
ORDER BY ord, group_id
