-- Issue 10, tokens and cost: each execution stores what its answer cost
-- (USD, by the endpoint entry's prices; NULL when the entry has none), and
-- the maintained per-question / region / model counters of 0003 also sum the
-- completed executions' tokens and cost, so `status` shows tokens and cost per
-- job, region and model from a few rows however large the job.
ALTER TABLE executions ADD COLUMN cost_usd double precision CHECK (cost_usd >= 0);

ALTER TABLE job_group_counts
  ADD COLUMN prompt_tokens     bigint NOT NULL DEFAULT 0,
  ADD COLUMN completion_tokens bigint NOT NULL DEFAULT 0,
  ADD COLUMN cost_usd          double precision NOT NULL DEFAULT 0,
  -- Completed executions that carry a cost: "unpriced" is cost_count < completed.
  ADD COLUMN cost_count        integer NOT NULL DEFAULT 0;

DROP TRIGGER executions_group_counts_insert ON executions;
DROP TRIGGER executions_group_counts_update ON executions;
DROP FUNCTION beacon_group_counts_after_insert();
DROP FUNCTION beacon_group_counts_after_update();
DROP FUNCTION beacon_group_deltas(integer, text, text, text, text, integer, text, text, double precision);

-- One execution row's contribution to its three groups, signed. Latency,
-- tokens and cost count for completed rows only (what was answered).
CREATE FUNCTION beacon_group_deltas(rows_sign integer, job_id text, region text, model_id text,
                                    question_id text, question_ord integer, status text,
                                    classification text, latency_ms double precision,
                                    prompt_tokens bigint, completion_tokens bigint, cost_usd double precision)
RETURNS TABLE (job_id text, dimension text, group_id text, ord integer, total integer, pending integer,
               running integer, completed integer, failed integer, cancelled integer, refused integer,
               latency_sum_ms double precision, latency_count integer, prompt_tokens bigint,
               completion_tokens bigint, cost_usd double precision, cost_count integer)
LANGUAGE sql IMMUTABLE AS $$
  SELECT $2, d.dimension, d.group_id, d.ord, $1, $1 * ($7 = 'pending')::integer,
         $1 * ($7 = 'running')::integer, $1 * ($7 = 'completed')::integer,
         $1 * ($7 = 'failed')::integer, $1 * ($7 = 'cancelled')::integer,
         $1 * ($7 = 'completed' AND $8 = 'refused')::integer,
         $1 * CASE WHEN $7 = 'completed' THEN coalesce($9, 0) ELSE 0 END,
         $1 * ($7 = 'completed' AND $9 IS NOT NULL)::integer,
         $1 * CASE WHEN $7 = 'completed' THEN coalesce($10, 0) ELSE 0 END,
         $1 * CASE WHEN $7 = 'completed' THEN coalesce($11, 0) ELSE 0 END,
         $1 * CASE WHEN $7 = 'completed' THEN coalesce($12, 0) ELSE 0 END,
         $1 * ($7 = 'completed' AND $12 IS NOT NULL)::integer
  FROM (VALUES ('question', $5, coalesce($6, 0)), ('region', $3, 0), ('model', $4, 0)) AS d(dimension, group_id, ord)
$$;

CREATE FUNCTION beacon_group_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_group_counts AS g (job_id, dimension, group_id, ord, total, pending, running, completed,
                                     failed, cancelled, refused, latency_sum_ms, latency_count, prompt_tokens,
                                     completion_tokens, cost_usd, cost_count)
  SELECT d.job_id, d.dimension, d.group_id, min(d.ord), sum(d.total), sum(d.pending), sum(d.running),
         sum(d.completed), sum(d.failed), sum(d.cancelled), sum(d.refused), sum(d.latency_sum_ms),
         sum(d.latency_count), sum(d.prompt_tokens), sum(d.completion_tokens), sum(d.cost_usd), sum(d.cost_count)
  FROM new_rows n
  CROSS JOIN LATERAL beacon_group_deltas(1, n.job_id, n.region, n.model_id, n.question_id, n.question_ord,
                                         n.status, n.classification, n.latency_ms, n.prompt_tokens,
                                         n.completion_tokens, n.cost_usd) d
  GROUP BY d.job_id, d.dimension, d.group_id
  ON CONFLICT (job_id, dimension, group_id) DO UPDATE
  SET ord = least(g.ord, excluded.ord),
      total = g.total + excluded.total, pending = g.pending + excluded.pending,
      running = g.running + excluded.running, completed = g.completed + excluded.completed,
      failed = g.failed + excluded.failed, cancelled = g.cancelled + excluded.cancelled,
      refused = g.refused + excluded.refused, latency_sum_ms = g.latency_sum_ms + excluded.latency_sum_ms,
      latency_count = g.latency_count + excluded.latency_count,
      prompt_tokens = g.prompt_tokens + excluded.prompt_tokens,
      completion_tokens = g.completion_tokens + excluded.completion_tokens,
      cost_usd = g.cost_usd + excluded.cost_usd, cost_count = g.cost_count + excluded.cost_count;
  RETURN NULL;
END $$;

CREATE FUNCTION beacon_group_counts_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Rows whose counted columns did not change contribute +1 -1 = 0: skip them.
  WITH moved AS (
    SELECT o.*, n.status AS new_status, n.classification AS new_classification, n.latency_ms AS new_latency_ms,
           n.prompt_tokens AS new_prompt_tokens, n.completion_tokens AS new_completion_tokens,
           n.cost_usd AS new_cost_usd
    FROM old_rows o
    JOIN new_rows n USING (job_id, region, model_id, question_id, sample)
    WHERE o.status IS DISTINCT FROM n.status
       OR o.classification IS DISTINCT FROM n.classification
       OR o.latency_ms IS DISTINCT FROM n.latency_ms
       OR o.prompt_tokens IS DISTINCT FROM n.prompt_tokens
       OR o.completion_tokens IS DISTINCT FROM n.completion_tokens
       OR o.cost_usd IS DISTINCT FROM n.cost_usd
  ), deltas AS (
    SELECT d.* FROM moved m
    CROSS JOIN LATERAL beacon_group_deltas(-1, m.job_id, m.region, m.model_id, m.question_id, m.question_ord,
                                           m.status, m.classification, m.latency_ms, m.prompt_tokens,
                                           m.completion_tokens, m.cost_usd) d
    UNION ALL
    SELECT d.* FROM moved m
    CROSS JOIN LATERAL beacon_group_deltas(1, m.job_id, m.region, m.model_id, m.question_id, m.question_ord,
                                           m.new_status, m.new_classification, m.new_latency_ms,
                                           m.new_prompt_tokens, m.new_completion_tokens, m.new_cost_usd) d
  ), agg AS (
    SELECT job_id, dimension, group_id, sum(pending) AS pending, sum(running) AS running,
           sum(completed) AS completed, sum(failed) AS failed, sum(cancelled) AS cancelled,
           sum(refused) AS refused, sum(latency_sum_ms) AS latency_sum_ms, sum(latency_count) AS latency_count,
           sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
           sum(cost_usd) AS cost_usd, sum(cost_count) AS cost_count
    FROM deltas
    GROUP BY job_id, dimension, group_id
  ), counted AS (
    UPDATE job_group_counts g
    SET pending = g.pending + a.pending, running = g.running + a.running,
        completed = g.completed + a.completed, failed = g.failed + a.failed,
        cancelled = g.cancelled + a.cancelled, refused = g.refused + a.refused,
        latency_sum_ms = g.latency_sum_ms + a.latency_sum_ms, latency_count = g.latency_count + a.latency_count,
        prompt_tokens = g.prompt_tokens + a.prompt_tokens,
        completion_tokens = g.completion_tokens + a.completion_tokens,
        cost_usd = g.cost_usd + a.cost_usd, cost_count = g.cost_count + a.cost_count
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

-- Jobs registered before this migration: their token sums once, from rows
-- (no execution had a cost yet).
UPDATE job_group_counts g
SET prompt_tokens = s.prompt_tokens, completion_tokens = s.completion_tokens
FROM (
  SELECT d.job_id, d.dimension, d.group_id, sum(d.prompt_tokens) AS prompt_tokens,
         sum(d.completion_tokens) AS completion_tokens
  FROM executions e
  CROSS JOIN LATERAL beacon_group_deltas(1, e.job_id, e.region, e.model_id, e.question_id, e.question_ord,
                                         e.status, e.classification, e.latency_ms, e.prompt_tokens,
                                         e.completion_tokens, e.cost_usd) d
  GROUP BY d.job_id, d.dimension, d.group_id
) s
WHERE (g.job_id, g.dimension, g.group_id) = (s.job_id, s.dimension, s.group_id);
