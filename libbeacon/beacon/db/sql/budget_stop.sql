-- Stops the jobs of a batch whose completed executions have spent their
-- budget (migrations/0009), in the transaction that applied the batch (the
-- jobs rows are locked, lock_jobs.sql; the per-group counters of 0008 are
-- already moved by the batch's triggers). Like a cancel (cancel_job.sql):
-- every pending execution becomes cancelled with reason budget_exhausted, the
-- counters move by exactly those rows, the job is `cancelled` with
-- stop_reason 'budget_exhausted'. Running ones finish: what is already on
-- the wire is paid for and kept; the caller broadcasts a cancel of the
-- returned submission so workers drop what they hold (control_message.hpp).
-- A job stopped already, finished, or without a budget is left alone.
-- $1 JSON array of job ids
-- Returns job_id, submissions, cost_usd spent, tokens spent, cancelled now.
WITH budgeted AS (
  SELECT j.job_id, j.budget_max_cost_usd, j.budget_max_tokens
  FROM jobs j
  WHERE j.job_id IN (SELECT jsonb_array_elements_text($1::jsonb))
    AND (j.budget_max_cost_usd IS NOT NULL OR j.budget_max_tokens IS NOT NULL)
    AND j.stop_reason IS NULL
    AND j.status NOT IN ('completed', 'failed', 'cancelled')
), spend AS (
  -- Every execution is in exactly one region group: their sum is the job's.
  SELECT b.job_id, coalesce(sum(g.cost_usd), 0) AS cost_usd,
         coalesce(sum(g.prompt_tokens + g.completion_tokens), 0)::bigint AS tokens
  FROM budgeted b
  LEFT JOIN job_group_counts g ON g.job_id = b.job_id AND g.dimension = 'region'
  GROUP BY b.job_id
), due AS (
  SELECT s.*
  FROM spend s JOIN budgeted b USING (job_id)
  WHERE s.cost_usd >= b.budget_max_cost_usd OR s.tokens >= b.budget_max_tokens
), gone AS (
  UPDATE executions e
  SET status = 'cancelled',
      completed_at = now(),
      error = '{"kind": "cancelled", "reason": "budget_exhausted", "message": "the job''s budget was spent before this execution ran"}'::jsonb,
      updated_at = now()
  FROM due d
  WHERE e.job_id = d.job_id AND e.status = 'pending'
  RETURNING e.job_id
), moved AS (
  SELECT d.job_id, d.cost_usd, d.tokens, (SELECT count(*) FROM gone g WHERE g.job_id = d.job_id)::integer AS cancelled
  FROM due d
)
UPDATE jobs j
SET status = 'cancelled',
    stop_reason = 'budget_exhausted',
    cancelled = j.cancelled + m.cancelled,
    progress = beacon_job_progress(j.total, j.completed + j.failed + j.cancelled + m.cancelled),
    finished_at = coalesce(j.finished_at, now()),
    updated_at = now()
FROM moved m
WHERE j.job_id = m.job_id
RETURNING j.job_id, j.submissions, m.cost_usd, m.tokens, m.cancelled
