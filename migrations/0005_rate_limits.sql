-- Issue 10: fleet-wide rate limits (requests_per_minute / tokens_per_minute of
-- the endpoint file). One bucket per url + api key, named by a SHA-256 of the
-- two (never the key). Workers book capacity ahead, a second or so at a time,
-- from the bucket's schedule (worker/rate_leaser.cpp): a lease of n requests
-- covers [start, start + n / rate] and the bucket remembers the time up to
-- which it is booked. Times are epoch seconds of this database's clock, so
-- worker clocks never need to agree.
CREATE TABLE rate_limit_buckets (
  limit_key text PRIMARY KEY,
  endpoint text NOT NULL,  -- redacted URL of the entry that last leased (for people reading the table)
  requests_per_minute double precision NOT NULL DEFAULT 0,
  tokens_per_minute double precision NOT NULL DEFAULT 0,
  requests_booked_until double precision NOT NULL DEFAULT 0,
  tokens_booked_until double precision NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Workers that leased from a bucket recently: the share each one falls back
-- to (limit / live workers) if the database becomes unreachable.
CREATE TABLE rate_limit_holders (
  limit_key text NOT NULL,
  worker_id text NOT NULL,
  seen_at timestamptz NOT NULL,
  PRIMARY KEY (limit_key, worker_id)
);

-- One lease in one round trip. The caller's limits are written to the bucket
-- (the latest lease wins: a SIGHUP'd worker changes the fleet's rate). A
-- dimension whose limit is 0, or whose schedule is booked more than
-- p_horizon_s ahead, grants 0.
CREATE FUNCTION beacon_rate_lease(p_key text, p_endpoint text, p_rpm double precision, p_tpm double precision,
                                  p_want_requests double precision, p_want_tokens double precision,
                                  p_horizon_s double precision, p_worker text,
                                  OUT now_s double precision,
                                  OUT req_amount double precision, OUT req_start double precision,
                                  OUT req_end double precision,
                                  OUT tok_amount double precision, OUT tok_start double precision,
                                  OUT tok_end double precision,
                                  OUT live_workers integer)
LANGUAGE plpgsql AS $$
DECLARE
  b rate_limit_buckets%ROWTYPE;
BEGIN
  INSERT INTO rate_limit_buckets (limit_key, endpoint) VALUES (p_key, p_endpoint)
    ON CONFLICT (limit_key) DO NOTHING;
  SELECT * INTO b FROM rate_limit_buckets WHERE limit_key = p_key FOR UPDATE;
  now_s := extract(epoch FROM clock_timestamp());  -- after the lock: the time the booking is made
  req_amount := 0; req_start := now_s; req_end := now_s;
  tok_amount := 0; tok_start := now_s; tok_end := now_s;
  IF p_rpm > 0 AND p_want_requests > 0 AND greatest(b.requests_booked_until, now_s) <= now_s + p_horizon_s THEN
    req_start := greatest(b.requests_booked_until, now_s);
    req_amount := p_want_requests;
    req_end := req_start + p_want_requests * 60.0 / p_rpm;
    b.requests_booked_until := req_end;
  END IF;
  IF p_tpm > 0 AND p_want_tokens > 0 AND greatest(b.tokens_booked_until, now_s) <= now_s + p_horizon_s THEN
    tok_start := greatest(b.tokens_booked_until, now_s);
    tok_amount := p_want_tokens;
    tok_end := tok_start + p_want_tokens * 60.0 / p_tpm;
    b.tokens_booked_until := tok_end;
  END IF;
  UPDATE rate_limit_buckets
     SET endpoint = p_endpoint, requests_per_minute = p_rpm, tokens_per_minute = p_tpm,
         requests_booked_until = b.requests_booked_until, tokens_booked_until = b.tokens_booked_until,
         updated_at = clock_timestamp()
   WHERE limit_key = p_key;
  INSERT INTO rate_limit_holders (limit_key, worker_id, seen_at) VALUES (p_key, p_worker, clock_timestamp())
    ON CONFLICT (limit_key, worker_id) DO UPDATE SET seen_at = excluded.seen_at;
  DELETE FROM rate_limit_holders WHERE limit_key = p_key AND seen_at < clock_timestamp() - interval '1 hour';
  SELECT count(*) INTO live_workers FROM rate_limit_holders
   WHERE limit_key = p_key AND seen_at > clock_timestamp() - interval '10 seconds';
END
$$;
