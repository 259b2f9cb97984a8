-- What a job's completed executions have spent (the per-region counters of
-- migrations/0008: every execution is in one region group).
-- $1 job_id. Returns cost_usd, tokens (0 and 0 for a job with no groups).
SELECT coalesce(sum(cost_usd), 0) AS cost_usd,
       coalesce(sum(prompt_tokens + completion_tokens), 0)::bigint AS tokens
FROM job_group_counts
WHERE job_id = $1 AND dimension = 'region'
