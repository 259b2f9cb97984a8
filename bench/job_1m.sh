# Sourced by the 1M-execution benchmarks (status_1m.sh, dashboard_1m.sh):
# create_1m_job registers a job of 4 regions x 10 models x 250 questions x 100
# samples directly in SQL (as the producer would, without 1M messages), moves
# 75 % of it to a deterministic mix of statuses as the progress-writer would,
# and vacuums. Needs common.sh (now_ns, s_between, die, say), LOG_DIR,
# STEP_TIMEOUT and BEACON_DATABASE_URL; sets JOB.

create_1m_job() {
  JOB=bench-1m-$(date +%Y%m%d-%H%M%S)
  REGIONS="us-east,eu-west,asia-pacific,sa-east"
  MODELS="llama3.2-1b,qwen2.5-1.5b,mistral-7b,gemma2-2b,phi3-mini,llama3.1-8b,qwen2.5-7b,deepseek-r1-7b,granite3-2b,olmo2-7b"
  QUESTIONS=250
  SAMPLES=100

  # Runs one SQL step under a timeout, prints its wall time.
  sql_step() {
    local label=$1 sql=$2 t0 t1
    t0=$(now_ns)
    timeout "$STEP_TIMEOUT" psql -X -q -v ON_ERROR_STOP=1 -v job="$JOB" -v regions="$REGIONS" -v models="$MODELS" \
      -v questions="$QUESTIONS" -v samples="$SAMPLES" "$BEACON_DATABASE_URL" <<<"$sql" >"$LOG_DIR/sql-step.out" 2>&1 ||
      { cat "$LOG_DIR/sql-step.out" >&2; die "$label failed"; }
    t1=$(now_ns)
    printf '%-46s %8.2f s\n' "$label" "$(s_between "$t0" "$t1")"
  }

  say "creating job $JOB: 4 regions x 10 models x $QUESTIONS questions x $SAMPLES samples in SQL"
  # The spec as JobSpec::canonical_json() writes it (questions as {id, prompt}).
  sql_step "register (jobs + 1,000,000 executions)" "
  BEGIN;
  INSERT INTO jobs (job_id, spec, status, total, progress)
  SELECT :'job',
         jsonb_build_object(
           'job_id', :'job',
           'models', to_jsonb(string_to_array(:'models', ',')),
           'regions', to_jsonb(string_to_array(:'regions', ',')),
           'questions', (SELECT jsonb_agg(jsonb_build_object('id', format('q%s', lpad(q::text, 3, '0')),
                                                             'prompt', format('Benchmark question %s: what is %s + %s?', q, q, q))
                                          ORDER BY q)
                         FROM generate_series(1, :questions) q),
           'samples', :samples,
           'system_prompt', 'You are a helpful assistant based in {region}.',
           'params', jsonb_build_object('temperature', 0.7, 'max_tokens', 256)),
         'queued', :questions * :samples * 10 * 4, 0;
  INSERT INTO executions (job_id, region, model_id, question_id, sample, question_ord)
  SELECT :'job', r.region, m.model, format('q%s', lpad(q::text, 3, '0')), s, q - 1
  FROM unnest(string_to_array(:'regions', ',')) AS r(region)
  CROSS JOIN unnest(string_to_array(:'models', ',')) AS m(model)
  CROSS JOIN generate_series(1, :questions) AS q
  CROSS JOIN generate_series(0, :samples - 1) AS s
  ORDER BY 2, 3, 4, 5;
  COMMIT;"

  # Deterministic mix from a hash of the key: h in [0, 1000).
  sql_step "UPDATE to a mix of statuses (750,000 rows)" "
  BEGIN;
  WITH k AS (
    SELECT region, model_id, question_id, sample,
           abs(hashtext(region || '|' || model_id || '|' || question_id || '|' || sample)) % 1000 AS h
    FROM executions WHERE job_id = :'job'
  ), x AS (
    SELECT k.*,
           CASE WHEN h < 700 THEN 'completed' WHEN h < 730 THEN 'failed' WHEN h < 750 THEN 'running' END AS st,
           -- refusals: ~25% of completed answers in asia-pacific, ~7% elsewhere
           (h < 700 AND (h % 100) < CASE WHEN region = 'asia-pacific' THEN 25 ELSE 7 END) AS refused
    FROM k WHERE h < 750
  )
  UPDATE executions e
  SET status = x.st,
      attempts = CASE WHEN x.st = 'failed' THEN 5 ELSE 1 END,
      worker_id = format('bench-%s-%s', x.region, x.h % 4),
      started_at = now() - interval '1 hour' + (x.h * interval '3 seconds'),
      completed_at = CASE WHEN x.st <> 'running' THEN now() - interval '1 hour' + (x.h * interval '3 seconds')
                                                   + (200 + x.h % 800) * interval '1 millisecond' END,
      output = CASE WHEN x.st = 'completed' THEN jsonb_build_object(
                 'text', CASE WHEN x.refused THEN 'I''m sorry, but I can''t discuss that topic.'
                              ELSE format('In %s the model %s answers %s (sample %s): the answer is %s. '
                                          'Sources differ on the details, and context matters; '
                                          'a careful reader would compare several accounts before deciding.',
                                          x.region, x.model_id, x.question_id, x.sample, x.h % 17) END,
                 'classification', CASE WHEN x.refused THEN 'refused' ELSE 'answered' END,
                 'finish_reason', 'stop',
                 'usage', jsonb_build_object('prompt_tokens', 24, 'completion_tokens', 40 + x.h % 60)) END,
      classification = CASE WHEN x.st = 'completed' THEN CASE WHEN x.refused THEN 'refused' ELSE 'answered' END END,
      receipt = CASE WHEN x.st = 'completed' THEN jsonb_build_object(
                  'endpoint', format('http://gpu-%s.internal:8000/v1', x.region), 'provider_id', format('sim-%s', x.h),
                  'http_status', 200, 'latency_ms', 200 + x.h % 800) END,
      error = CASE WHEN x.st = 'failed' THEN jsonb_build_object('kind', 'endpoint_unavailable',
                'message', 'HTTP 503 from the endpoint, retries exhausted') END,
      latency_ms = CASE WHEN x.st = 'completed' THEN 200 + x.h % 800 END,
      prompt_tokens = CASE WHEN x.st = 'completed' THEN 24 END,
      completion_tokens = CASE WHEN x.st = 'completed' THEN 40 + x.h % 60 END,
      updated_at = now()
  FROM x
  WHERE (e.job_id, e.region, e.model_id, e.question_id, e.sample) = (:'job', x.region, x.model_id, x.question_id, x.sample);
  -- The job counters, as the progress-writer would have moved them.
  UPDATE jobs j
  SET completed = c.completed, failed = c.failed, running = c.running, status = 'running',
      progress = beacon_job_progress(j.total, c.completed + c.failed),
      started_at = now() - interval '1 hour', last_finished_at = now(), updated_at = now()
  FROM (SELECT count(*) FILTER (WHERE status = 'completed')::integer AS completed,
               count(*) FILTER (WHERE status = 'failed')::integer AS failed,
               count(*) FILTER (WHERE status = 'running')::integer AS running
        FROM executions WHERE job_id = :'job') c
  WHERE j.job_id = :'job';
  COMMIT;"

  sql_step "VACUUM ANALYZE (as autovacuum would)" "VACUUM ANALYZE executions; VACUUM ANALYZE job_group_counts; VACUUM ANALYZE jobs;"
}
