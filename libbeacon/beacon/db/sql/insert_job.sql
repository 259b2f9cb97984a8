-- Registers a new job (submission 1). No row comes back when the id is taken:
-- the caller then takes the re-submit path, also when another submit of the
-- same id committed in between (ON CONFLICT waits for it).
-- $1 job_id, $2 canonical spec (JSON text), $3 total, $4 created_at (us since epoch)
-- The budget columns (migrations/0009) come from the spec's "budget".
INSERT INTO jobs (job_id, spec, status, total, progress, created_at, finished_at, updated_at,
                  budget_max_cost_usd, budget_max_tokens)
VALUES ($1, $2::jsonb,
        beacon_job_status(NULL, $3::integer, 0, 0, 0, false),
        $3::integer,
        beacon_job_progress($3::integer, 0),
        beacon_from_us($4::bigint),
        CASE WHEN $3::integer = 0 THEN now() END,
        now(),
        ($2::jsonb #>> '{budget,max_cost_usd}')::double precision,
        ($2::jsonb #>> '{budget,max_tokens}')::bigint)
ON CONFLICT (job_id) DO NOTHING
RETURNING job_id
