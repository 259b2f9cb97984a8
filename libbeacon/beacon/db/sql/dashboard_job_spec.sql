-- The job's stored spec (JobSpec::canonical_json()), to show an execution's prompt. $1 job_id
SELECT spec::text FROM jobs WHERE job_id = $1
