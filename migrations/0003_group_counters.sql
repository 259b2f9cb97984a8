-- 0003_group_counters: per-question / region / model counters, maintained,
-- so `beacon-producer status` answers from a few rows however large the job
-- (the *_progress views still compute from rows, with latency percentiles).
--
-- Maintained by statement-level triggers with transition tables: one
-- set-based update per INSERT/UPDATE statement on executions, whichever code
-- path changed the rows (registration, apply_events, cancel, re-submit).
-- Every such path locks the job's row first, so two writers of one job never
-- update the same counter rows concurrently (no deadlocks, exact sums).
CREATE TABLE job_group_counts (
  job_id          text    NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
  dimension       text    NOT NULL CHECK (dimension IN ('question', 'region', 'model')),
  group_id        text    NOT NULL,
  ord             integer NOT NULL DEFAULT 0,  -- spec order of questions; 0 for regions and models
  total           integer NOT NULL DEFAULT 0 CHECK (total >= 0),
  pending         integer NOT NULL DEFAULT 0 CHECK (pending >= 0),
  running         integer NOT NULL DEFAULT 0 CHECK (running >= 0),
  completed       integer NOT NULL DEFAULT 0 CHECK (completed >= 0),
  failed          integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
  cancelled       integer NOT NULL DEFAULT 0 CHECK (cancelled >= 0),
  refused         integer NOT NULL DEFAULT 0 CHECK (refused >= 0),
  latency_sum_ms  double precision NOT NULL DEFAULT 0,
  latency_count   integer NOT NULL DEFAULT 0 CHECK (latency_count >= 0),
  PRIMARY KEY (job_id, dimension, group_id)
);

-- When an execution last finished (entered completed / failed / cancelled):
-- the `stalled` flag compares it with now().
ALTER TABLE jobs ADD COLUMN last_finished_at timestamptz;

-- One execution row's contribution to its three groups, signed.
CREATE FUNCTION beacon_group_deltas(rows_sign integer, job_id text, region text, model_id text,
                                    question_id text, question_ord integer, status text,
                                    classification text, latency_ms double precision)
RETURNS TABLE (job_id text, dimension text, group_id text, ord integer, total integer, pending integer,
               running integer, completed integer, failed integer, cancelled integer, refused integer,
               latency_sum_ms double precision, latency_count integer)
LANGUAGE sql IMMUTABLE AS $$
  SELECT $2, d.dimension, d.group_id, d.ord, $1, $1 * ($7 = 'pending')::integer,
         $1 * ($7 = 'running')::integer, $1 * ($7 = 'completed')::integer,
         $1 * ($7 = 'failed')::integer, $1 * ($7 = 'cancelled')::integer,
         $1 * ($7 = 'completed' AND $8 = 'refused')::integer,
         $1 * CASE WHEN $7 = 'completed' THEN coalesce($9, 0) ELSE 0 END,
         $1 * ($7 = 'completed' AND $9 IS NOT NULL)::integer
  FROM (VALUES ('question', $5, coalesce($6, 0)), ('region', $3, 0), ('model', $4, 0)) AS d(dimension, group_id, ord)
$$;

CREATE FUNCTION beacon_group_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_group_counts AS g (job_id, dimension, group_id, ord, total, pending, running, completed,
                                     failed, cancelled, refused, latency_sum_ms, latency_count)
  SELECT d.job_id, d.dimension, d.group_id, min(d.ord), sum(d.total), sum(d.pending), sum(d.running),
         sum(d.completed), sum(d.failed), sum(d.cancelled), sum(d.refused), sum(d.latency_sum_ms),
         sum(d.latency_count)
  FROM new_rows n
  CROSS JOIN LATERAL beacon_group_deltas(1, n.job_id, n.region, n.model_id, n.question_id, n.question_ord,
                                         n.status, n.classification, n.latency_ms) d
  GROUP BY d.job_id, d.dimension, d.group_id
  ON CONFLICT (job_id, dimension, group_id) DO UPDATE
  SET ord = least(g.ord, excluded.ord),
      total = g.total + excluded.total, pending = g.pending + excluded.pending,
      running = g.running + excluded.running, completed = g.completed + excluded.completed,
      failed = g.failed + excluded.failed, cancelled = g.cancelled + excluded.cancelled,
      refused = g.refused + excluded.refused, latency_sum_ms = g.latency_sum_ms + excluded.latency_sum_ms,
      latency_count = g.latency_count + excluded.latency_count;
  RETURN NULL;
END $$;

CREATE FUNCTION beacon_group_counts_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Rows whose counted columns did not change contribute +1 -1 = 0: skip them.
  WITH moved AS (
    SELECT o.*, n.status AS new_status, n.classification AS new_classification, n.latency_ms AS new_latency_ms
    FROM old_rows o
    JOIN new_rows n USING (job_id, region, model_id, question_id, sample)
    WHERE o.status IS DISTINCT FROM n.status
       OR o.classification IS DISTINCT FROM n.classification
       OR o.latency_ms IS DISTINCT FROM n.latency_ms
  ), deltas AS (
    SELECT d.* FROM moved m
    CROSS JOIN LATERAL beacon_group_deltas(-1, m.job_id, m.region, m.model_id, m.question_id, m.question_ord,
                                           m.status, m.classification, m.latency_ms) d
    UNION ALL
    SELECT d.* FROM moved m
    CROSS JOIN LATERAL beacon_group_deltas(1, m.job_id, m.region, m.model_id, m.question_id, m.question_ord,
                                           m.new_status, m.new_classification, m.new_latency_ms) d
  ), agg AS (
    SELECT job_id, dimension, group_id, sum(pending) AS pending, sum(running) AS running,
           sum(completed) AS completed, sum(failed) AS failed, sum(cancelled) AS cancelled,
           sum(refused) AS refused, sum(latency_sum_ms) AS latency_sum_ms, sum(latency_count) AS latency_count
    FROM deltas
    GROUP BY job_id, dimension, group_id
  ), counted AS (
    UPDATE job_group_counts g
    SET pending = g.pending + a.pending, running = g.running + a.running,
        completed = g.completed + a.completed, failed = g.failed + a.failed,
        cancelled = g.cancelled + a.cancelled, refused = g.refused + a.refused,
        latency_sum_ms = g.latency_sum_ms + a.latency_sum_ms, latency_count = g.latency_count + a.latency_count
    FROM agg a
    WHERE (g.job_id, g.dimension, g.group_id) = (a.job_id, a.dimension, a.group_id)
    RETURNING g.job_id
  )
  UPDATE jobs j SET last_finished_at = now()
  WHERE j.job_id IN (SELECT m.job_id FROM moved m
                     WHERE m.new_status IN ('completed', 'failed', 'cancelled')
                       AND m.status NOT IN ('completed', 'failed', 'cancelled'));
  RETURN NULL;
END $$;

CREATE TRIGGER executions_group_counts_insert
  AFTER INSERT ON executions REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION beacon_group_counts_after_insert();

CREATE TRIGGER executions_group_counts_update
  AFTER UPDATE ON executions REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION beacon_group_counts_after_update();

-- Jobs registered before this migration get their counters once, from rows.
INSERT INTO job_group_counts (job_id, dimension, group_id, ord, total, pending, running, completed, failed,
                              cancelled, refused, latency_sum_ms, latency_count)
SELECT d.job_id, d.dimension, d.group_id, min(d.ord), sum(d.total), sum(d.pending), sum(d.running),
       sum(d.completed), sum(d.failed), sum(d.cancelled), sum(d.refused), sum(d.latency_sum_ms),
       sum(d.latency_count)
FROM executions e
CROSS JOIN LATERAL beacon_group_deltas(1, e.job_id, e.region, e.model_id, e.question_id, e.question_ord,
                                       e.status, e.classification, e.latency_ms) d
GROUP BY d.job_id, d.dimension, d.group_id;

UPDATE jobs j SET last_finished_at = (SELECT max(completed_at) FROM executions e WHERE e.job_id = j.job_id);

-- job_progress gains `stalled`: work remains and no execution has finished
-- for beacon.stall_after_s seconds (a session setting; default 300), counted
-- from the last finish, else from the first event, else from creation.
CREATE OR REPLACE VIEW job_progress AS
SELECT j.job_id,
       j.status,
       j.total,
       j.total - j.completed - j.failed - j.cancelled - j.running AS pending,
       j.running,
       j.completed,
       j.failed,
       j.cancelled,
       j.progress AS percent,
       j.submissions,
       j.created_at,
       j.started_at,
       j.finished_at,
       j.updated_at,
       t.elapsed_s,
       CASE
         WHEN j.status IN ('completed', 'failed', 'cancelled') THEN 0::double precision
         WHEN t.elapsed_s IS NULL OR j.completed + j.failed = 0 THEN NULL
         ELSE t.elapsed_s / (j.completed + j.failed)
              * (j.total - j.completed - j.failed - j.cancelled)
       END AS eta_s,
       j.last_finished_at,
       s.quiet_s AS stalled_for_s,
       (j.status IN ('queued', 'running')
        AND s.quiet_s > coalesce(nullif(current_setting('beacon.stall_after_s', true), '')::double precision, 300))
         AS stalled
FROM jobs j
CROSS JOIN LATERAL (
  SELECT greatest(0, extract(epoch FROM coalesce(j.finished_at, now()) - j.started_at))::double precision
         AS elapsed_s
) t
CROSS JOIN LATERAL (
  SELECT greatest(0, extract(epoch FROM now() - coalesce(j.last_finished_at, j.started_at, j.created_at)))::double precision
         AS quiet_s
) s;
