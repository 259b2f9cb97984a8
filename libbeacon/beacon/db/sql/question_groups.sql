-- Per-question progress of one job (question_progress view), in the order of the spec. $1 job_id
SELECT question_id, total, pending, running, completed, failed, cancelled, refused, percent::double precision,
       mean_latency_ms, p95_latency_ms
FROM question_progress
WHERE job_id = $1
ORDER BY question_ord, question_id
