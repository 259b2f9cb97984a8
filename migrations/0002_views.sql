-- 0002_views: read models for `beacon-producer status|export|report`
-- (libbeacon/beacon/db/progress_queries.cpp). Query them WITH a job_id filter:
-- it is pushed below the GROUP BY, so a view reads one job's rows only.

-- One row per job, from the maintained counters (never a scan of executions).
--   elapsed_s: since the first event, until finished_at (or now); NULL before.
--   eta_s:     the job's own rate so far, elapsed / done * remaining, where done
--              is what workers finished (completed + failed) and remaining is
--              pending + running; NULL before the first finished execution,
--              0 once the job is finished.
CREATE VIEW job_progress AS
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
       END AS eta_s
FROM jobs j
CROSS JOIN LATERAL (
  SELECT greatest(0, extract(epoch FROM coalesce(j.finished_at, now()) - j.started_at))::double precision
         AS elapsed_s
) t;

-- Per job and question / region / model: counts per status, percent finished,
-- refusals, and latency of the completed executions. The three views have the
-- same columns after the group column(s).
CREATE VIEW question_progress AS
SELECT e.job_id,
       e.question_id,
       min(e.question_ord) AS question_ord,
       count(*)::integer AS total,
       (count(*) FILTER (WHERE e.status = 'pending'))::integer AS pending,
       (count(*) FILTER (WHERE e.status = 'running'))::integer AS running,
       (count(*) FILTER (WHERE e.status = 'completed'))::integer AS completed,
       (count(*) FILTER (WHERE e.status = 'failed'))::integer AS failed,
       (count(*) FILTER (WHERE e.status = 'cancelled'))::integer AS cancelled,
       (count(*) FILTER (WHERE e.classification = 'refused'))::integer AS refused,
       beacon_job_progress(count(*)::integer,
                           (count(*) FILTER (WHERE e.status IN ('completed', 'failed', 'cancelled')))::integer)
         AS percent,
       avg(e.latency_ms) FILTER (WHERE e.status = 'completed') AS mean_latency_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY e.latency_ms) FILTER (WHERE e.status = 'completed')
         AS p95_latency_ms
FROM executions e
GROUP BY e.job_id, e.question_id;

CREATE VIEW region_progress AS
SELECT e.job_id,
       e.region,
       count(*)::integer AS total,
       (count(*) FILTER (WHERE e.status = 'pending'))::integer AS pending,
       (count(*) FILTER (WHERE e.status = 'running'))::integer AS running,
       (count(*) FILTER (WHERE e.status = 'completed'))::integer AS completed,
       (count(*) FILTER (WHERE e.status = 'failed'))::integer AS failed,
       (count(*) FILTER (WHERE e.status = 'cancelled'))::integer AS cancelled,
       (count(*) FILTER (WHERE e.classification = 'refused'))::integer AS refused,
       beacon_job_progress(count(*)::integer,
                           (count(*) FILTER (WHERE e.status IN ('completed', 'failed', 'cancelled')))::integer)
         AS percent,
       avg(e.latency_ms) FILTER (WHERE e.status = 'completed') AS mean_latency_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY e.latency_ms) FILTER (WHERE e.status = 'completed')
         AS p95_latency_ms
FROM executions e
GROUP BY e.job_id, e.region;

CREATE VIEW model_progress AS
SELECT e.job_id,
       e.model_id,
       count(*)::integer AS total,
       (count(*) FILTER (WHERE e.status = 'pending'))::integer AS pending,
       (count(*) FILTER (WHERE e.status = 'running'))::integer AS running,
       (count(*) FILTER (WHERE e.status = 'completed'))::integer AS completed,
       (count(*) FILTER (WHERE e.status = 'failed'))::integer AS failed,
       (count(*) FILTER (WHERE e.status = 'cancelled'))::integer AS cancelled,
       (count(*) FILTER (WHERE e.classification = 'refused'))::integer AS refused,
       beacon_job_progress(count(*)::integer,
                           (count(*) FILTER (WHERE e.status IN ('completed', 'failed', 'cancelled')))::integer)
         AS percent,
       avg(e.latency_ms) FILTER (WHERE e.status = 'completed') AS mean_latency_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY e.latency_ms) FILTER (WHERE e.status = 'completed')
         AS p95_latency_ms
FROM executions e
GROUP BY e.job_id, e.model_id;

-- Job x question x model x region (x sample) -> status and classification:
-- the grid the report compares across regions.
CREATE VIEW execution_matrix AS
SELECT e.job_id,
       e.question_id,
       e.question_ord,
       e.model_id,
       e.region,
       e.sample,
       e.status,
       e.classification
FROM executions e;
