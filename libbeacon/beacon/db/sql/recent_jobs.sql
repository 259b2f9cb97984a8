-- The newest jobs first, same columns as load_job.sql. $1 how many
SELECT job_id, status, total, pending, running, completed, failed, cancelled, percent::double precision,
       beacon_rfc3339(created_at), beacon_rfc3339(started_at), beacon_rfc3339(finished_at),
       coalesce(elapsed_s, 0), eta_s, submissions, stalled, stalled_for_s
FROM job_progress
ORDER BY created_at DESC, job_id
LIMIT $1
