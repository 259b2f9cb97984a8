-- One chunk of a job's planned executions, registered and looked up in one
-- statement (submit streams the plan through this, a chunk at a time):
--   * a key without a row gets one (ON CONFLICT DO NOTHING: rows a killed
--     submit already wrote, or a concurrent submit writes, are kept as they
--     are): pending of submission $3, or cancelled (and counted) when the job
--     was cancelled while the submit ran;
--   * returns the ordinal (1-based, in the array) of each key to enqueue:
--     every key unless the job is cancelled, minus the completed ones when
--     $4 is false (a re-submit). A fresh job ($4 true) has nothing completed
--     in a chunk it has not enqueued yet.
-- The job row is locked first (the locking protocol in 0001_schema.sql), and
-- rows are inserted in primary-key order.
-- $1 job_id, $2 JSON array of [region, model_id, question_id, sample, question_ord],
-- $3 submission, $4 fresh
WITH job AS (
  SELECT status, stop_reason FROM jobs WHERE job_id = $1 FOR UPDATE
), input AS (
  SELECT x.ord, x.v ->> 0 AS region, x.v ->> 1 AS model_id, x.v ->> 2 AS question_id,
         (x.v ->> 3)::integer AS sample, (x.v ->> 4)::integer AS question_ord
  FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(v, ord)
), ins AS (
  INSERT INTO executions (job_id, region, model_id, question_id, sample, question_ord, status, submission, error)
  SELECT $1, i.region, i.model_id, i.question_id, i.sample, i.question_ord,
         CASE WHEN job.status = 'cancelled' THEN 'cancelled' ELSE 'pending' END, $3::integer,
         -- Why, as cancel_job.sql and budget_stop.sql say it (migrations/0009).
         CASE WHEN job.status = 'cancelled' THEN
           jsonb_build_object('kind', 'cancelled', 'reason', coalesce(job.stop_reason, 'cancel'),
                              'message', 'the job was stopped before this execution was registered')
         END
  FROM input i CROSS JOIN job
  ORDER BY i.region, i.model_id, i.question_id, i.sample
  ON CONFLICT DO NOTHING
  RETURNING status
), counted AS (
  UPDATE jobs j
  SET cancelled = j.cancelled + c.n,
      progress = beacon_job_progress(j.total, j.completed + j.failed + j.cancelled + c.n),
      updated_at = now()
  FROM (SELECT count(*)::integer AS n FROM ins WHERE status = 'cancelled') c
  WHERE j.job_id = $1 AND c.n > 0
  RETURNING 1
)
SELECT i.ord
FROM input i CROSS JOIN job
WHERE job.status <> 'cancelled'
  AND ($4::boolean OR NOT EXISTS (
        SELECT 1 FROM executions e
        WHERE e.job_id = $1 AND e.region = i.region AND e.model_id = i.model_id
          AND e.question_id = i.question_id AND e.sample = i.sample AND e.status = 'completed'))
ORDER BY i.ord
