-- What the lane decision of a submit needs (submit_lanes.hpp), per region of
-- the job: whether the job has a lane there already (an earlier submit gave
-- it one) and whether another job still has work there (pending or running
-- executions; migration 0014's partial index keeps this off the question rows).
-- $1 job_id, $2 the job's regions (JSON array of strings)
SELECT r.region,
       EXISTS (SELECT 1 FROM job_lanes l WHERE l.job_id = $1 AND l.region = r.region) AS has_lane,
       EXISTS (SELECT 1 FROM job_group_counts g
               WHERE g.dimension = 'region' AND g.group_id = r.region AND g.job_id <> $1
                 AND g.pending + g.running > 0) AS others_busy
FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS r(region, ord)
ORDER BY r.ord
