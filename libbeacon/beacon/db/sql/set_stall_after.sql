-- The `stalled` threshold job_progress uses, for this transaction only. $1 seconds (text)
SELECT set_config('beacon.stall_after_s', $1, true)
