-- Per-region progress of one job (region_progress view), in name order. $1 job_id
SELECT region, total, pending, running, completed, failed, cancelled, refused, percent::double precision,
       mean_latency_ms, p95_latency_ms
FROM region_progress
WHERE job_id = $1
ORDER BY region
