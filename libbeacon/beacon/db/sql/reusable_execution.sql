-- Reuse across jobs (migrations/0010): a completed execution of another job
-- whose request had exactly this digest, to copy instead of paying again.
-- An answer that was paid for is preferred to a copy of it (its key is the
-- better reused_from), then the oldest; served by executions_request_digest.
-- $1 request digest (64 hex digits), $2 the asking job (its own rows are not
-- "an earlier job's answer")
SELECT job_id, region, model_id, question_id, sample, output->>'text', classification,
       output->>'finish_reason', prompt_tokens, completion_tokens
FROM executions
WHERE request_digest = decode($1, 'hex')
  AND status = 'completed'
  AND job_id <> $2
ORDER BY reused_from IS NOT NULL, completed_at, job_id, region, model_id, question_id, sample
LIMIT 1
