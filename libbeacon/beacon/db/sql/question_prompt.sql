-- The prompt of one question of a job whose questions came from a file
-- (migrations/0012). $1 job_id, $2 question_id
SELECT prompt FROM job_questions WHERE job_id = $1 AND question_id = $2
