-- One job's progress (job_progress view: the maintained counters). $1 job_id
-- The caller sets beacon.stall_after_s first (set_stall_after.sql).
SELECT job_id, status, total, pending, running, completed, failed, cancelled, percent::double precision,
       beacon_rfc3339(created_at), beacon_rfc3339(started_at), beacon_rfc3339(finished_at),
       coalesce(elapsed_s, 0), eta_s, submissions, stalled, stalled_for_s
FROM job_progress
WHERE job_id = $1
