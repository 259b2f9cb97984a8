-- $1 job_id, $2 region, $3 model_id, $4 question_id, $5 sample, $6 lease expiry in seconds.
-- The execution's status, the worker that last started it, and whether that
-- worker's heartbeat is fresh enough for its run to count as live.
SELECT e.status, coalesce(e.worker_id, ''),
       coalesce(h.last_seen > now() - make_interval(secs => $6::double precision), false)
FROM executions e
LEFT JOIN worker_heartbeats h ON h.worker_id = e.worker_id
WHERE e.job_id = $1 AND e.region = $2 AND e.model_id = $3 AND e.question_id = $4 AND e.sample = $5::integer
