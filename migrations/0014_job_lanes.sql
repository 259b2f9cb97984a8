-- Fair share between jobs (issue 10, docs/fair-share.md). A job submitted
-- while another job still has work in a region, or one whose spec carries a
-- priority, is published to its own queue in that region, its lane
-- (beacon.exec.<region>.job.<job_id>), instead of the region queue. Workers
-- read this table to learn which lanes to consume: a lane is consumed while
-- its job has pending or running executions in the region.
--   weight: the job's priority (1..10, default 1), its share of the region's
--   workers relative to the other active lanes and the region queue (weight 1).
CREATE TABLE job_lanes (
  job_id     text        NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
  region     text        NOT NULL,
  weight     integer     NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 10),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, region)
);
CREATE INDEX job_lanes_by_region ON job_lanes (region);

-- "Does another job have work in this region?" at submit time, without
-- scanning every job's per-question counters.
CREATE INDEX job_group_counts_regions ON job_group_counts (group_id) WHERE dimension = 'region';
