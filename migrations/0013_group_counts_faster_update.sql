-- The per-group counters' update trigger (0003, 0008), same results with less
-- work per batch (issue 9: the progress-writer alone). Profiled with
-- bench/writer_alone.sh BENCH_PG_EXPLAIN=1: for a 300-event batch the trigger
-- took 49 of the statement's 70 ms; it made six signed delta rows per changed
-- execution (three groups, old and new) and sorted all of them on text keys
-- before summing. Now each changed execution is one row of differences
-- (new - old), summed per group in three small aggregates.
CREATE OR REPLACE FUNCTION beacon_group_counts_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Rows whose counted columns did not change contribute nothing: skip them.
  WITH moved AS (
    SELECT o.job_id, o.region, o.model_id, o.question_id,
           (n.status = 'pending')::integer - (o.status = 'pending')::integer AS pending,
           (n.status = 'running')::integer - (o.status = 'running')::integer AS running,
           (n.status = 'completed')::integer - (o.status = 'completed')::integer AS completed,
           (n.status = 'failed')::integer - (o.status = 'failed')::integer AS failed,
           (n.status = 'cancelled')::integer - (o.status = 'cancelled')::integer AS cancelled,
           (n.status = 'completed' AND n.classification IS NOT DISTINCT FROM 'refused')::integer
             - (o.status = 'completed' AND o.classification IS NOT DISTINCT FROM 'refused')::integer AS refused,
           CASE WHEN n.status = 'completed' THEN coalesce(n.latency_ms, 0) ELSE 0 END
             - CASE WHEN o.status = 'completed' THEN coalesce(o.latency_ms, 0) ELSE 0 END AS latency_sum_ms,
           (n.status = 'completed' AND n.latency_ms IS NOT NULL)::integer
             - (o.status = 'completed' AND o.latency_ms IS NOT NULL)::integer AS latency_count,
           CASE WHEN n.status = 'completed' THEN coalesce(n.prompt_tokens, 0) ELSE 0 END
             - CASE WHEN o.status = 'completed' THEN coalesce(o.prompt_tokens, 0) ELSE 0 END AS prompt_tokens,
           CASE WHEN n.status = 'completed' THEN coalesce(n.completion_tokens, 0) ELSE 0 END
             - CASE WHEN o.status = 'completed' THEN coalesce(o.completion_tokens, 0) ELSE 0 END AS completion_tokens,
           CASE WHEN n.status = 'completed' THEN coalesce(n.cost_usd, 0) ELSE 0 END
             - CASE WHEN o.status = 'completed' THEN coalesce(o.cost_usd, 0) ELSE 0 END AS cost_usd,
           (n.status = 'completed' AND n.cost_usd IS NOT NULL)::integer
             - (o.status = 'completed' AND o.cost_usd IS NOT NULL)::integer AS cost_count,
           n.status IN ('completed', 'failed', 'cancelled')
             AND o.status NOT IN ('completed', 'failed', 'cancelled') AS finished_now
    FROM old_rows o
    JOIN new_rows n USING (job_id, region, model_id, question_id, sample)
    WHERE o.status IS DISTINCT FROM n.status
       OR o.classification IS DISTINCT FROM n.classification
       OR o.latency_ms IS DISTINCT FROM n.latency_ms
       OR o.prompt_tokens IS DISTINCT FROM n.prompt_tokens
       OR o.completion_tokens IS DISTINCT FROM n.completion_tokens
       OR o.cost_usd IS DISTINCT FROM n.cost_usd
  ), agg AS (
    SELECT job_id, 'question'::text AS dimension, question_id AS group_id, sum(pending) AS pending,
           sum(running) AS running, sum(completed) AS completed, sum(failed) AS failed,
           sum(cancelled) AS cancelled, sum(refused) AS refused, sum(latency_sum_ms) AS latency_sum_ms,
           sum(latency_count) AS latency_count, sum(prompt_tokens) AS prompt_tokens,
           sum(completion_tokens) AS completion_tokens, sum(cost_usd) AS cost_usd, sum(cost_count) AS cost_count
    FROM moved GROUP BY job_id, question_id
    UNION ALL
    SELECT job_id, 'region', region, sum(pending), sum(running), sum(completed), sum(failed), sum(cancelled),
           sum(refused), sum(latency_sum_ms), sum(latency_count), sum(prompt_tokens), sum(completion_tokens),
           sum(cost_usd), sum(cost_count)
    FROM moved GROUP BY job_id, region
    UNION ALL
    SELECT job_id, 'model', model_id, sum(pending), sum(running), sum(completed), sum(failed), sum(cancelled),
           sum(refused), sum(latency_sum_ms), sum(latency_count), sum(prompt_tokens), sum(completion_tokens),
           sum(cost_usd), sum(cost_count)
    FROM moved GROUP BY job_id, model_id
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
  WHERE j.job_id IN (SELECT m.job_id FROM moved m WHERE m.finished_now);
  RETURN NULL;
END $$;
