#!/usr/bin/env bash
# bench/dashboard_1m.sh — what one dashboard viewer costs on a job of 1,000,000 executions.
#
#   bench/dashboard_1m.sh                    (from the repository root; needs build/beacon-dashboard)
#
# 1. Private RabbitMQ + Postgres (.run/bench-dashboard-services, fresh), migrate,
#    and the same 1M job as bench/status_1m.sh (4 regions x 10 models x 250
#    questions x 100 samples, created in SQL, ~70% completed / 3% failed / 2%
#    running).
# 2. Starts beacon-dashboard and plays one viewer of the job page: BENCH_POLLS
#    polls (default 60) of what job.js fetches each second — GET /api/jobs/JOB
#    (the maintained counters) — plus, as when the job's version changed, GET
#    /api/jobs/JOB/matrix (a 1M job: aggregated by question, no cells). Then a
#    question's page of cells (?question=q001, 2,000 cells), an execution's
#    detail, the recent jobs list, and the job's version moved (a counter
#    update) to show the matrix is re-read once, not per poll.
#    Per request: server-side ms (the Server-Timing header the dashboard sets:
#    from request parsed to response built, database reads included), wall ms
#    (curl, connection included) and bytes.
#
# Knobs: BEACON_BUILD_DIR, BENCH_POLLS, BENCH_KEEP_DATA=1. About 2-4 minutes on 2 cores.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

POLLS=${BENCH_POLLS:-60}
LOG_DIR=$ROOT/.run/bench-dashboard
STEP_TIMEOUT=${BENCH_STEP_TIMEOUT:-600}
DASHBOARD=$BUILD_DIR/beacon-dashboard

need_bins "$PRODUCER" "$DASHBOARD"
need_tools psql jq timeout curl
rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"
install_cleanup

say "machine"
machine_line

say "private RabbitMQ + Postgres ($ROOT/.run/bench-dashboard-services)"
start_services "$ROOT/.run/bench-dashboard-services"
"$PRODUCER" migrate

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

say "beacon-dashboard"
PORT=$("$SERVICES" free-port 1)
BEACON_DASHBOARD_ADDR=127.0.0.1:$PORT start_bg dashboard "$DASHBOARD"
BASE=http://127.0.0.1:$PORT
for ((i = 0; i < 100; i++)); do curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null && break; check_alive; sleep 0.1; done
curl -fsS -o /dev/null "$BASE/readyz" || die "dashboard not ready"
echo "dashboard on $BASE"

# One request: prints "server_ms wall_ms bytes".
probe() {
  local url=$1 out
  out=$(curl -fsS -o "$LOG_DIR/body" -D "$LOG_DIR/headers" -w '%{time_total} %{size_download}' "$url") ||
    die "GET $url failed"
  local server
  server=$(tr -d '\r' <"$LOG_DIR/headers" | awk -F'dur=' 'tolower($0) ~ /^server-timing:/ { print $2 }')
  awk -v s="$server" -v o="$out" 'BEGIN { split(o, a, " "); printf "%s %.3f %d\n", s, a[1] * 1000, a[2] }'
}

# Runs probe N times on a URL; prints label, server/wall medians and max, bytes.
probe_runs() {
  local label=$1 n=$2 url=$3 i server=() wall=() bytes=0 line
  for ((i = 0; i < n; i++)); do
    line=$(probe "$url")
    server+=("${line%% *}")
    line=${line#* }
    wall+=("${line%% *}")
    bytes=${line#* }
  done
  printf '%-40s server %s' "$label" "$(stats_ms "${server[@]}")"
  echo
  printf '%-40s wall   %s' "" "$(stats_ms "${wall[@]}")"
  echo
  printf '%-40s %d bytes per response\n' "" "$bytes"
}

say "one viewer of the job page: $POLLS polls"
probe_runs "GET /api/jobs/JOB (each poll)" "$POLLS" "$BASE/api/jobs/$JOB"
probe_runs "GET /api/jobs/JOB/matrix (aggregated)" "$POLLS" "$BASE/api/jobs/$JOB/matrix"
curl -fsS "$BASE/api/jobs/$JOB/matrix" | jq -c '{mode, cells: (.cells | length)}'

say "on demand"
probe_runs "GET .../matrix?question=q001 (2000 cells)" 10 "$BASE/api/jobs/$JOB/matrix?question=q001&offset=0"
probe_runs "GET .../matrix?question=q001&offset=2000" 10 "$BASE/api/jobs/$JOB/matrix?question=q001&offset=2000"
probe_runs "GET .../execution (detail, 4 regions)" 10 \
  "$BASE/api/jobs/$JOB/execution?region=us-east&model=mistral-7b&question=q042&sample=7"
probe_runs "GET /api/jobs (recent jobs)" 10 "$BASE/api/jobs"
probe_runs "GET /jobs/JOB (the page itself)" 10 "$BASE/jobs/$JOB"
code=$(curl -s -o "$LOG_DIR/report.json" -w '%{http_code}' "$BASE/api/jobs/$JOB/report")
echo "GET .../report on 1M: HTTP $code: $(jq -r .error "$LOG_DIR/report.json")"

say "the job's version moves (a counter update): the question page is re-read once, then cached"
pg -v job="$JOB" <<<"UPDATE jobs SET updated_at = now() WHERE job_id = :'job'" >/dev/null
probe_runs "first GET ...?question=q001 after the move" 1 "$BASE/api/jobs/$JOB/matrix?question=q001&offset=0"
probe_runs "next GETs (cached for every viewer)" 10 "$BASE/api/jobs/$JOB/matrix?question=q001&offset=0"

say "done (job $JOB); logs in $LOG_DIR"
