-- Issue 10, samples and reuse: when a job's params give a seed, sample k of a
-- question sends seed + k (so k samples are k draws of a deterministic
-- server, not one answer k times), and the seed actually sent is stored with
-- the execution so every answer can be reproduced. NULL: no seed was sent.
ALTER TABLE executions ADD COLUMN seed bigint;
