-- Cancels a job whose row the transaction has locked: every pending
-- execution becomes cancelled (running ones finish or are cancelled by their
-- worker's event), the counter moves by exactly the rows that moved, and the
-- job is cancelled for good (events never change that; only a re-submit does).
-- $1 job_id
WITH gone AS (
  UPDATE executions
  SET status = 'cancelled',
      completed_at = now(),
      error = '{"kind": "cancelled", "reason": "cancel", "message": "the job was cancelled before this execution ran"}'::jsonb,
      updated_at = now()
  WHERE job_id = $1 AND status = 'pending'
  RETURNING 1
), moved AS (
  SELECT count(*)::integer AS cancelled FROM gone
)
UPDATE jobs j
SET status = 'cancelled',
    stop_reason = 'cancel',
    cancelled = j.cancelled + m.cancelled,
    progress = beacon_job_progress(j.total, j.completed + j.failed + j.cancelled + m.cancelled),
    finished_at = coalesce(j.finished_at, now()),
    updated_at = now()
FROM moved m
WHERE j.job_id = $1
RETURNING m.cancelled
