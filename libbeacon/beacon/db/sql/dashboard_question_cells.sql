-- One page of one question's cells (model × region × sample → status), for
-- jobs too large to draw whole. Uses the (job_id, question_id) index.
-- $1 job_id, $2 question_id, $3 page size, $4 offset
SELECT question_id, model_id, region, sample, status, classification
FROM executions
WHERE job_id = $1 AND question_id = $2
ORDER BY model_id, region, sample
LIMIT $3::integer OFFSET $4::integer
