-- The prompts of a questions file's questions, met by this chunk for the first
-- time (migrations/0012). Inside the chunk's transaction, after
-- register_chunk.sql locked the job row. Existing rows are kept.
-- $1 job_id, $2 JSON array of [question_id, prompt]
INSERT INTO job_questions (job_id, question_id, prompt)
SELECT $1, x.v ->> 0, x.v ->> 1
FROM jsonb_array_elements($2::jsonb) AS x(v)
ORDER BY 2
ON CONFLICT DO NOTHING
