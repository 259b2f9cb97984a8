-- Applies one batch of result events in ONE statement (STYLE.md lesson 4):
-- update each execution only when the state machine allows the move, RETURN
-- what changed, and move the job counters by exactly those changes. Replaying
-- a batch therefore changes nothing: every move it made is no longer allowed.
--
-- $1 JSON array, one element per execution key (reduced in C++, event_batch.hpp):
--   {i, job_id, region, model_id, question_id, sample, status (the status the
--    event moves to), submission, worker_id, attempt, started_us, completed_us, output,
--    classification, receipt, latency_ms, prompt_tokens, completion_tokens, error, seed, cost_usd,
--    request_digest (hex), reused_from}
-- Returns one row per element: i, known (the execution exists), transitioned.
-- The transaction has locked the jobs rows first (lock_jobs.sql).
WITH ev AS MATERIALIZED (
  SELECT x.*, beacon_from_us(x.started_us) AS started_at, beacon_from_us(x.completed_us) AS completed_at
  FROM jsonb_to_recordset($1::jsonb) AS x(
    i integer, job_id text, region text, model_id text, question_id text, sample integer,
    status text, submission integer, worker_id text, attempt integer, started_us bigint, completed_us bigint,
    output jsonb, classification text, receipt jsonb, latency_ms double precision,
    prompt_tokens bigint, completion_tokens bigint, error jsonb, seed bigint, cost_usd double precision,
    request_digest text, reused_from jsonb)
),
-- The rows before the change, locked in key order. FOR UPDATE returns the
-- latest committed version, so old_status is what the UPDATE below replaces.
pre AS MATERIALIZED (
  SELECT e.job_id, e.region, e.model_id, e.question_id, e.sample, e.status AS old_status
  FROM executions e
  JOIN ev USING (job_id, region, model_id, question_id, sample)
  ORDER BY e.job_id, e.region, e.model_id, e.question_id, e.sample
  FOR UPDATE OF e
),
changed AS (
  UPDATE executions e
  SET status = ev.status,
      attempts = greatest(e.attempts, coalesce(ev.attempt, 0)),
      worker_id = coalesce(ev.worker_id, e.worker_id),
      -- `started` opens an attempt; a terminal event keeps the attempt's start
      -- unless it carries its own.
      started_at = CASE WHEN ev.status = 'running' THEN coalesce(ev.started_at, now())
                        ELSE coalesce(ev.started_at, e.started_at) END,
      completed_at = CASE WHEN ev.status = 'running' THEN NULL
                          ELSE coalesce(ev.completed_at, now()) END,
      -- A terminal event replaces the outcome columns, so failed -> completed
      -- leaves no stale error behind; `started` leaves them alone.
      output = CASE WHEN ev.status = 'running' THEN e.output ELSE ev.output END,
      classification = CASE WHEN ev.status = 'running' THEN e.classification ELSE ev.classification END,
      receipt = CASE WHEN ev.status = 'running' THEN e.receipt ELSE ev.receipt END,
      error = CASE WHEN ev.status = 'running' THEN e.error ELSE ev.error END,
      latency_ms = CASE WHEN ev.status = 'running' THEN e.latency_ms ELSE ev.latency_ms END,
      prompt_tokens = CASE WHEN ev.status = 'running' THEN e.prompt_tokens ELSE ev.prompt_tokens END,
      completion_tokens = CASE WHEN ev.status = 'running' THEN e.completion_tokens ELSE ev.completion_tokens END,
      -- The seed the request carried (migrations/0007); every event of a run carries the same.
      seed = coalesce(ev.seed, e.seed),
      -- What the answer cost (migrations/0008); replaced with the outcome.
      cost_usd = CASE WHEN ev.status = 'running' THEN e.cost_usd ELSE ev.cost_usd END,
      -- The request's digest and, for a copied answer, its source
      -- (migrations/0010); replaced with the outcome.
      request_digest = CASE WHEN ev.status = 'running' THEN e.request_digest
                            ELSE decode(ev.request_digest, 'hex') END,
      reused_from = CASE WHEN ev.status = 'running' THEN e.reused_from ELSE ev.reused_from END,
      updated_at = now()
  FROM ev
  JOIN pre USING (job_id, region, model_id, question_id, sample)
  WHERE (e.job_id, e.region, e.model_id, e.question_id, e.sample)
        = (ev.job_id, ev.region, ev.model_id, ev.question_id, ev.sample)
    AND beacon_transition_allowed(pre.old_status, ev.status)
    -- Fencing (migrations/0004): a `failed` or `cancelled` of an older
    -- submission than the one that last reset the row changes nothing. Its
    -- `completed` (paid work) and `started` (a worker really runs it: the new
    -- submission's copy then waits for that run instead of paying again) land.
    AND (ev.status IN ('completed', 'running') OR coalesce(ev.submission, 1) >= e.submission)
  RETURNING ev.i, e.job_id, pre.old_status, e.status AS new_status, e.started_at,
            e.reused_from IS NOT NULL AS reused
),
-- Counter moves per job: +1 for the status entered, -1 for the status left.
moved AS (
  SELECT job_id,
         (count(*) FILTER (WHERE new_status = 'completed') - count(*) FILTER (WHERE old_status = 'completed'))::integer AS completed,
         (count(*) FILTER (WHERE new_status = 'failed') - count(*) FILTER (WHERE old_status = 'failed'))::integer AS failed,
         (count(*) FILTER (WHERE new_status = 'cancelled') - count(*) FILTER (WHERE old_status = 'cancelled'))::integer AS cancelled,
         (count(*) FILTER (WHERE new_status = 'running') - count(*) FILTER (WHERE old_status = 'running'))::integer AS running,
         -- Completed is final, so a reused row enters the count once and never leaves it.
         (count(*) FILTER (WHERE new_status = 'completed' AND reused))::integer AS reused,
         min(started_at) AS first_started
  FROM changed
  GROUP BY job_id
),
-- (A data-modifying WITH runs to completion even though nothing reads it.)
-- `j.` columns here are the locked, latest row, so `j.completed + m.completed`
-- is exact however many writers run.
jobs_moved AS (
  UPDATE jobs j
  SET completed = j.completed + m.completed,
      failed = j.failed + m.failed,
      cancelled = j.cancelled + m.cancelled,
      running = j.running + m.running,
      reused = j.reused + m.reused,
      status = beacon_job_status(j.status, j.total, j.completed + m.completed, j.failed + m.failed,
                                 j.cancelled + m.cancelled, true),
      progress = beacon_job_progress(j.total, j.completed + m.completed + j.failed + m.failed
                                              + j.cancelled + m.cancelled),
      started_at = coalesce(j.started_at, least(m.first_started, now())),
      finished_at = CASE
        WHEN beacon_job_status(j.status, j.total, j.completed + m.completed, j.failed + m.failed,
                               j.cancelled + m.cancelled, true) IN ('completed', 'failed', 'cancelled')
        THEN coalesce(j.finished_at, now())
      END,
      updated_at = now()
  FROM moved m
  WHERE j.job_id = m.job_id
  RETURNING j.job_id
)
SELECT ev.i,
       pre.job_id IS NOT NULL AS known,
       changed.i IS NOT NULL AS transitioned
FROM ev
LEFT JOIN pre USING (job_id, region, model_id, question_id, sample)
LEFT JOIN changed ON changed.i = ev.i
ORDER BY ev.i
