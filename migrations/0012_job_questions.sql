-- The prompts of a job whose questions came from a file (issue 9: big jobs come
-- from files). Its stored spec holds only the file's count and digest, so the
-- dashboard's execution page, which shows the prompt beside the answer, reads
-- it here. Inline questions stay in jobs.spec and are not repeated. Written by
-- submit in the transaction of the chunk that first meets the question (the
-- first (region, model) pass of the plan), ON CONFLICT DO NOTHING: a resumed
-- or re-run submit rewrites nothing.
CREATE TABLE job_questions (
  job_id      text NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
  question_id text NOT NULL,
  prompt      text NOT NULL,
  PRIMARY KEY (job_id, question_id)
);
