-- Issue 10, reuse across jobs: every completed execution stores the digest of
-- its exact request (infer/request_digest.hpp: endpoint, protocol, served
-- model, messages, parameters as sent, the seed sent; the sample index when
-- no seed is sent), whether or not its job reuses, so that a later job with
-- "reuse": "completed" can find an answer to the very same request and copy
-- it instead of paying again. A copied row records its source in reused_from
-- ({"job_id", "region", "model_id", "question_id", "sample"}: the key of the
-- execution it was copied from). NULL: the row paid for its own answer.
ALTER TABLE executions
  ADD COLUMN request_digest bytea CHECK (octet_length(request_digest) = 32),
  ADD COLUMN reused_from jsonb;

-- The preflight's look-up (sql/reusable_execution.sql): rows by digest. Only
-- answered rows carry one, so registering a job adds nothing to this index.
CREATE INDEX executions_request_digest ON executions (request_digest) WHERE request_digest IS NOT NULL;

-- Maintained like jobs.completed (apply_events.sql): the job's completed
-- executions whose answer was copied. A reused row is completed and stays so.
ALTER TABLE jobs
  ADD COLUMN reused integer NOT NULL DEFAULT 0 CHECK (reused >= 0),
  ADD CONSTRAINT jobs_reused_fits CHECK (reused <= completed);
