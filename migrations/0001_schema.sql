-- 0001_schema: the tables of SPEC.md ("Postgres") and the rules that keep them honest.
--
-- Applied by `beacon-producer migrate` (libbeacon/beacon/db/migrate.cpp) in one
-- transaction, recorded in schema_migrations (which the migrator creates
-- itself, see libbeacon/beacon/db/sql/migration_table.sql). Never edit a
-- migration that has shipped; add the next number instead.
--
-- Bookkeeping model (STYLE.md lesson 4): executions rows are the truth; the
-- counters on jobs are moved in the same statement that changes an execution,
-- from exactly the transitions that statement made, so after every commit
--   jobs.completed = count(executions WHERE status = 'completed'), and the same
--   for failed, cancelled and running.
--
-- Locking protocol (no deadlocks between writers): every transaction that
-- writes executions first locks the jobs rows involved (ORDER BY job_id, FOR
-- UPDATE), then the executions rows in primary-key order.

-- The execution state machine, identical to transition_allowed() in
-- libbeacon/beacon/core/state_machine.hpp (the database tests compare all 25 pairs):
--   pending   -> running | completed | failed | cancelled
--   running   -> completed | failed | cancelled
--   failed    -> completed   (a retry or re-submit that succeeded)
--   cancelled -> completed   (work already paid for is kept)
--   completed -> nothing
-- A re-submit moves failed/cancelled back to pending; that is a command, not an
-- event, and register_job does it explicitly (jobs_repo.cpp).
-- SQL-standard body: resolved when created, inlined by the planner.
CREATE FUNCTION beacon_transition_allowed(from_status text, to_status text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE from_status
  WHEN 'pending'   THEN to_status IN ('running', 'completed', 'failed', 'cancelled')
  WHEN 'running'   THEN to_status IN ('completed', 'failed', 'cancelled')
  WHEN 'failed'    THEN to_status = 'completed'
  WHEN 'cancelled' THEN to_status = 'completed'
  ELSE false
END;

-- Job status rules:
--   * `cancelled` is sticky: once the cancel command set it, events never change
--     it (a re-submit lifts it explicitly by passing a NULL current status).
--   * every execution finished (completed + failed + cancelled = total):
--     `completed` when none failed, else `failed`;
--   * otherwise `running` once the first event arrived (`started`),
--   * otherwise `queued`.
-- A job with no executions at all is complete at once.
CREATE FUNCTION beacon_job_status(current_status text, total integer, completed integer,
                                  failed integer, cancelled integer, started boolean)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN current_status = 'cancelled' THEN 'cancelled'
  WHEN completed + failed + cancelled >= total THEN
    CASE WHEN failed = 0 THEN 'completed' ELSE 'failed' END
  WHEN started THEN 'running'
  ELSE 'queued'
END;

-- Percent of executions finished in any way, truncated (not rounded) so that
-- 100.00 means "nothing left", never "999,999 of 1,000,000".
CREATE FUNCTION beacon_job_progress(total integer, finished integer)
RETURNS numeric(5, 2)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN total <= 0 THEN 100.00
            ELSE trunc(100.0 * least(finished, total) / total, 2) END;

-- Times cross the wire as microseconds since the epoch, parsed and checked in
-- C++ (timestamps.hpp), so a malformed time can never fail a statement.
CREATE FUNCTION beacon_from_us(us bigint)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN timestamptz 'epoch' + us * interval '1 microsecond';

-- RFC 3339 UTC with milliseconds, the form of every time on the wire.
CREATE FUNCTION beacon_rfc3339(t timestamptz)
RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

CREATE TABLE jobs (
  job_id       text PRIMARY KEY,
  -- JobSpec::canonical_json(): what a re-submit is compared with (as jsonb,
  -- so key order and number spelling do not matter).
  spec         jsonb NOT NULL,
  status       text NOT NULL DEFAULT 'queued'
               CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  total        integer NOT NULL CHECK (total >= 0),
  -- Maintained counters: executions rows in each status (pending is the rest).
  completed    integer NOT NULL DEFAULT 0 CHECK (completed >= 0),
  failed       integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
  cancelled    integer NOT NULL DEFAULT 0 CHECK (cancelled >= 0),
  running      integer NOT NULL DEFAULT 0 CHECK (running >= 0),
  progress     numeric(5, 2) NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  -- How many times `submit` registered this job id (1 = first submit).
  submissions  integer NOT NULL DEFAULT 1 CHECK (submissions >= 1),
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,          -- first event seen
  finished_at  timestamptz,          -- set when the status became terminal
  updated_at   timestamptz NOT NULL DEFAULT now(),
  -- A counter bug must fail loudly, not drift.
  CONSTRAINT jobs_counters_fit CHECK (completed + failed + cancelled + running <= total)
);

CREATE TABLE executions (
  job_id            text NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
  region            text NOT NULL,
  model_id          text NOT NULL,
  question_id       text NOT NULL,      -- '' for a job without questions
  sample            integer NOT NULL CHECK (sample >= 0),
  -- Position of the question in the spec, so reports list questions in the
  -- order the user wrote them.
  question_ord      integer NOT NULL DEFAULT 0,
  status            text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  worker_id         text,
  -- {"text","classification","finish_reason","usage":{"prompt_tokens","completion_tokens"}}
  output            jsonb,
  classification    text CHECK (classification IN ('answered', 'refused', 'empty')),
  -- {"endpoint","provider_id","http_status","latency_ms"[,"provider_receipt"]}
  receipt           jsonb,
  error             jsonb,              -- {"kind","message"}
  latency_ms        double precision,
  prompt_tokens     bigint,
  completion_tokens bigint,
  started_at        timestamptz,
  completed_at      timestamptz,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  -- SPEC invariant 1: exactly one row per key.
  PRIMARY KEY (job_id, region, model_id, question_id, sample)
);

-- The primary key serves every per-job scan (job_id is its prefix), the
-- per-region order and export's keyset pages. (job_id, status) serves cancel
-- and re-submit (one job's rows in one status); (job_id, question_id) one
-- question's rows (report drill-down, execution_matrix by question).
-- Deliberately no more: each index costs ~5-7 s per million rows registered
-- and an index entry on every status change (status is indexed, so updates
-- are not HOT). The group views read the job's rows via the primary key.
CREATE INDEX executions_job_status ON executions (job_id, status);
CREATE INDEX executions_job_question ON executions (job_id, question_id);
