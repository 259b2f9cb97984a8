-- Per-model progress of one job, from the maintained counters
-- (job_group_counts, migration 0003): a few rows however large the job.
-- Latency percentiles need the rows: they are in the model_progress view.
-- $1 job_id
SELECT group_id, total, pending, running, completed, failed, cancelled, refused,
       beacon_job_progress(total, completed + failed + cancelled)::double precision,
       CASE WHEN latency_count > 0 THEN latency_sum_ms / latency_count END,
       NULL::double precision
FROM job_group_counts
WHERE job_id = $1 AND dimension = 'model'
ORDER BY group_id
