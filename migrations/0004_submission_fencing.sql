-- Issue 8 item 2: a cancel or a failure of one submission never lands on a
-- later submission of the same job id.
--
-- executions.submission is the submission that last (re)opened the row:
-- 1 at registration, n when the n-th submit reset it to pending. Result
-- events carry the submission of the message their worker ran; a failed or
-- cancelled of an older submission changes nothing (apply_events.sql), its
-- completed (paid for) and started (a run really under way) still land.
ALTER TABLE executions ADD COLUMN submission integer NOT NULL DEFAULT 1 CHECK (submission >= 1);

-- A job whose executions all finished is `completed` only when none failed
-- and none was cancelled: cancelled work is not done work.
CREATE OR REPLACE FUNCTION beacon_job_status(current_status text, total integer, completed integer,
                                             failed integer, cancelled integer, started boolean)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN current_status = 'cancelled' THEN 'cancelled'
  WHEN completed + failed + cancelled >= total THEN
    CASE WHEN failed > 0 THEN 'failed' WHEN cancelled > 0 THEN 'cancelled' ELSE 'completed' END
  WHEN started THEN 'running'
  ELSE 'queued'
END;
