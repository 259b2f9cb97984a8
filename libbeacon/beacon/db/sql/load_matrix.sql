-- question × model × region × sample → status (execution_matrix view). $1 job_id
SELECT question_id, model_id, region, sample, status, classification
FROM execution_matrix
WHERE job_id = $1
ORDER BY question_ord, question_id, model_id, region, sample
