-- Why a job stopped early and its budget (migrations/0009). $1 job_id
SELECT stop_reason, budget_max_cost_usd, budget_max_tokens FROM jobs WHERE job_id = $1
