-- A re-submit (resume) of a job whose row the transaction has locked:
--   * failed and cancelled executions go back to pending, and the counters
--     move by exactly the rows that moved;
--   * submissions + 1, and every execution not completed carries that
--     submission (a late event of an earlier submission then cannot cancel
--     or fail it: apply_events.sql);
--   * the status is recomputed with the cancel lifted (a re-submit is the
--     user asking for the work again): `running` when an event was ever seen,
--     `queued` before that, `completed` when every execution already is (then
--     nothing is enqueued and finished_at is kept).
--   * the spec (equal but for its budget, lock_job_for_submit.sql) and the
--     budget columns are replaced, and stop_reason is cleared (migrations/0009).
-- Returns the new submission number, total and completed count.
-- $1 job_id, $2 canonical spec (JSON text)
WITH reset_failed AS (
  UPDATE executions
  SET status = 'pending', completed_at = NULL, updated_at = now(),
      submission = (SELECT submissions + 1 FROM jobs WHERE job_id = $1)
  WHERE job_id = $1 AND status = 'failed'
  RETURNING 1
), reset_cancelled AS (
  UPDATE executions
  SET status = 'pending', completed_at = NULL, updated_at = now(),
      submission = (SELECT submissions + 1 FROM jobs WHERE job_id = $1)
  WHERE job_id = $1 AND status = 'cancelled'
  RETURNING 1
), reopen AS (
  -- Pending and running rows are enqueued again too: they belong to the new
  -- submission from now on (a late `cancelled` of the old run cannot land).
  UPDATE executions
  SET submission = (SELECT submissions + 1 FROM jobs WHERE job_id = $1)
  WHERE job_id = $1 AND status IN ('pending', 'running')
  RETURNING 1
), moved AS (
  SELECT (SELECT count(*) FROM reset_failed)::integer AS failed,
         (SELECT count(*) FROM reset_cancelled)::integer AS cancelled
), next AS (
  SELECT j.job_id,
         beacon_job_status(NULL, j.total, j.completed, j.failed - m.failed, j.cancelled - m.cancelled,
                           j.started_at IS NOT NULL) AS status
  FROM jobs j, moved m
  WHERE j.job_id = $1
)
UPDATE jobs j
SET submissions = j.submissions + 1,
    spec = $2::jsonb,
    budget_max_cost_usd = ($2::jsonb #>> '{budget,max_cost_usd}')::double precision,
    budget_max_tokens = ($2::jsonb #>> '{budget,max_tokens}')::bigint,
    stop_reason = NULL,
    failed = j.failed - m.failed,
    cancelled = j.cancelled - m.cancelled,
    status = n.status,
    progress = beacon_job_progress(j.total, j.completed + j.failed - m.failed + j.cancelled - m.cancelled),
    finished_at = CASE WHEN n.status IN ('completed', 'failed', 'cancelled') THEN j.finished_at END,
    updated_at = now()
FROM moved m, next n
WHERE j.job_id = $1
RETURNING j.submissions, j.total, j.completed
