-- Issue 8 item 8: one inference per execution across workers.
--
-- A worker whose broker connection blips keeps running its inferences, but
-- the broker redelivers their messages to the region's other workers. A
-- redelivered message whose row is `running` is therefore not proof that its
-- worker is gone. Each worker writes a heartbeat here every few seconds (from
-- its preflight thread, which owns the worker's database connection); the
-- row's `worker_id` (from its `started` event) plus a fresh heartbeat is a
-- live lease, and the other worker waits for that run's outcome instead of
-- paying again. A crashed worker's heartbeat goes stale within the lease
-- expiry (worker/preflight.hpp), after which its work runs elsewhere.
CREATE TABLE worker_heartbeats (
  worker_id  text PRIMARY KEY,
  region     text NOT NULL,
  last_seen  timestamptz NOT NULL DEFAULT now()
);
