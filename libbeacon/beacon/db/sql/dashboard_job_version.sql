-- A number that changes whenever one of the job's counters moves (every
-- apply, cancel and re-submit sets jobs.updated_at): the dashboard re-reads a
-- job's cells only when it changed. One primary-key lookup. $1 job_id
SELECT (extract(epoch FROM updated_at) * 1000000)::bigint FROM jobs WHERE job_id = $1
