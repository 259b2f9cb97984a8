-- Gives a job its lane in a region, or sets the weight of the one it has (a
-- re-submit's priority replaces the old one).
-- $1 job_id, $2 region, $3 weight (1..10)
INSERT INTO job_lanes (job_id, region, weight)
VALUES ($1, $2, $3::integer)
ON CONFLICT (job_id, region) DO UPDATE SET weight = excluded.weight
