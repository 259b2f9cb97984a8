-- Whether migration 0006 (worker leases) is applied.
SELECT to_regclass('worker_heartbeats') IS NOT NULL
