-- Issue 10, budgets: a job spec's optional "budget" (core/budget.hpp) is kept
-- in columns the progress-writer reads on every batch without opening the
-- spec, and jobs.stop_reason says why a job stopped early:
--   'cancel'            beacon-producer cancel
--   'budget_exhausted'  its completed executions spent the budget (budget_stop.sql)
-- NULL while the job is not stopped; a re-submit clears it (and may change
-- the budget: the one part of a spec a re-submit may change).
ALTER TABLE jobs
  ADD COLUMN budget_max_cost_usd double precision CHECK (budget_max_cost_usd > 0),
  ADD COLUMN budget_max_tokens   bigint CHECK (budget_max_tokens > 0),
  ADD COLUMN stop_reason         text CHECK (stop_reason IN ('cancel', 'budget_exhausted'));

-- Jobs cancelled before this migration were cancelled by hand.
UPDATE jobs SET stop_reason = 'cancel' WHERE status = 'cancelled' AND cancelled > 0;
