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
# shellcheck source=bench/job_1m.sh
source "$(dirname "${BASH_SOURCE[0]}")/job_1m.sh"

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

create_1m_job

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
