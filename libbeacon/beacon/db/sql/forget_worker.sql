-- $1 worker_id: a worker that stops releases its leases at once.
DELETE FROM worker_heartbeats WHERE worker_id = $1
