-- Per-model progress of one job (model_progress view), in name order. $1 job_id
SELECT model_id, total, pending, running, completed, failed, cancelled, refused, percent::double precision,
       mean_latency_ms, p95_latency_ms
FROM model_progress
WHERE job_id = $1
ORDER BY model_id
