-- $1 worker_id, $2 region: this worker is alive now.
INSERT INTO worker_heartbeats (worker_id, region, last_seen)
VALUES ($1, $2, now())
ON CONFLICT (worker_id) DO UPDATE SET region = EXCLUDED.region, last_seen = now()
