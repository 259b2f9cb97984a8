#!/usr/bin/env bash
# THE demo command: a whole beacon fleet on this machine, end to end.
#
#   scripts/demo.sh [SPEC.json]        (default examples/beacon-job.json)
#
# It installs missing deps, builds, starts a private RabbitMQ + Postgres
# (.run/demo-services), applies the migrations, starts the OpenAI-compatible
# simulator (beacon-infer-sim, 1200 ms ± 400 ms per request), one progress-writer,
# one worker per region (us-east, eu-west, asia-pacific) and the web dashboard,
# prints the dashboard's URL, submits the job (paced to take about half a
# minute, so it can be watched live), watches it until it is finished and prints
# the final status table. On a terminal it then keeps the fleet and the page up
# until you press Enter; otherwise (CI, a pipe) it stops everything at once.
# Logs and the endpoint file are in .run/demo/.
#
# Knobs: BEACON_DEMO_TIMEOUT (seconds for the job to finish, default 600),
#        BEACON_DASHBOARD_ADDR (default 127.0.0.1:8080, a free port if 8080 is taken),
#        BEACON_DEMO_LATENCY_MS (simulated inference time, default 1200),
#        BEACON_BUILD_DIR (default build), BEACON_JOBS (2),
#        BEACON_SKIP_DEPS=1 / BEACON_SKIP_BUILD=1 to skip those steps.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD_DIR=${BEACON_BUILD_DIR:-$ROOT/build}
SERVICES=$ROOT/scripts/services.sh
SERVICES_DIR=$ROOT/.run/demo-services
RUN_DIR=$ROOT/.run/demo
SPEC=${1:-examples/beacon-job.json}
REGIONS=(us-east eu-west asia-pacific)
JOB_TIMEOUT=${BEACON_DEMO_TIMEOUT:-600}

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\ndemo.sh: FAILED: %s\n' "$*" >&2; exit 1; }

# Background processes we started: parallel arrays of pid, name, log file, and
# the exit code once reaped ("" while running).
PIDS=() NAMES=() LOGS=() CODES=()
services_started=0
WATCH_PID=""

tail_log() {
  local name=$1 log=$2
  [[ -s "$log" ]] || { echo "----- $name: (empty log $log)" >&2; return 0; }
  echo "----- last lines of $name ($log)" >&2
  tail -n 25 "$log" >&2
}

# SIGTERM the given indexes of PIDS, wait up to 30 s, then SIGKILL. Returns 1
# if any exited non-zero (SPEC: SIGTERM -> drain and exit 0).
stop_procs() {
  local i rc bad=0 deadline
  for i in "$@"; do
    [[ -z "${CODES[$i]}" ]] && kill -TERM "${PIDS[$i]}" 2>/dev/null || true
  done
  deadline=$(( $(date +%s) + 30 ))
  for i in "$@"; do
    [[ -z "${CODES[$i]}" ]] || continue   # already reaped and reported
    while kill -0 "${PIDS[$i]}" 2>/dev/null && (( $(date +%s) < deadline )); do sleep 0.2; done
    if kill -0 "${PIDS[$i]}" 2>/dev/null; then
      echo "demo.sh: ${NAMES[$i]} did not stop within 30 s of SIGTERM; killing" >&2
      kill -KILL "${PIDS[$i]}" 2>/dev/null || true
    fi
    rc=0; wait "${PIDS[$i]}" 2>/dev/null || rc=$?
    if ((rc != 0)); then
      echo "demo.sh: ${NAMES[$i]} exited with code $rc after SIGTERM" >&2
      tail_log "${NAMES[$i]}" "${LOGS[$i]}"
      bad=1
    fi
  done
  return "$bad"
}

# Indexes of the processes in stop order: workers first (they drain and publish
# their last results), then the progress-writer, then the simulator.
stop_order() {
  local i
  for i in "${!NAMES[@]}"; do [[ ${NAMES[$i]} == worker-* ]] && echo "$i"; done
  for i in "${!NAMES[@]}"; do [[ ${NAMES[$i]} == progress-writer ]] && echo "$i"; done
  for i in "${!NAMES[@]}"; do [[ ${NAMES[$i]} != worker-* && ${NAMES[$i]} != progress-writer ]] && echo "$i"; done
}

cleanup() {
  local rc=$? order
  trap - EXIT INT TERM
  if [[ -n "$WATCH_PID" ]]; then kill -TERM "$WATCH_PID" 2>/dev/null || true; wait "$WATCH_PID" 2>/dev/null || true; fi
  if ((${#PIDS[@]})); then
    step "stopping the fleet"
    mapfile -t order < <(stop_order)
    stop_procs "${order[@]}" || { ((rc != 0)) || rc=1; }
  fi
  if ((services_started)); then
    step "stopping services"
    "$SERVICES" stop "$SERVICES_DIR" || { ((rc != 0)) || rc=1; }
  fi
  if ((rc == 0)); then
    printf '\ndemo.sh: done. Logs: %s\n' "$RUN_DIR"
  else
    printf '\ndemo.sh: exit code %s. Logs: %s\n' "$rc" "$RUN_DIR" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Start a long-running part in the background, logging to RUN_DIR/NAME.log.
start_bg() {
  local name=$1; shift
  local log=$RUN_DIR/$name.log
  "$@" >"$log" 2>&1 </dev/null &
  PIDS+=("$!") NAMES+=("$name") LOGS+=("$log") CODES+=("")
  echo "started $name (pid $!): $*"
}

# Fail if any background part has exited.
check_fleet() {
  local i
  for i in "${!PIDS[@]}"; do
    [[ -z "${CODES[$i]}" ]] || continue
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      local rc=0; wait "${PIDS[$i]}" 2>/dev/null || rc=$?
      CODES[$i]=$rc
      tail_log "${NAMES[$i]}" "${LOGS[$i]}"
      fail "${NAMES[$i]} exited unexpectedly (code $rc)"
    fi
  done
}

# Wait until host:port accepts TCP connections (bounded), watching the fleet.
wait_tcp() {
  local name=$1 port=$2 secs=$3 deadline
  deadline=$(( $(date +%s) + secs ))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    check_fleet
    (( $(date +%s) < deadline )) || fail "$name did not listen on 127.0.0.1:$port within ${secs}s"
    sleep 0.2
  done
}

# Wait until a part's /readyz answers 200 (falls back to /healthz), bounded.
wait_ready() {
  local name=$1 addr=$2 secs=$3 deadline
  deadline=$(( $(date +%s) + secs ))
  until curl -fsS -o /dev/null --max-time 2 "http://$addr/readyz" 2>/dev/null; do
    check_fleet
    if (( $(date +%s) >= deadline )); then
      local why
      why=$(curl -sS --max-time 2 "http://$addr/readyz" 2>&1 || true)
      fail "$name not ready within ${secs}s (GET http://$addr/readyz: ${why:-no answer})"
    fi
    sleep 0.3
  done
  echo "$name ready (metrics on http://$addr/metrics)"
}

# ------------------------------------------------------------------ build
step "dependencies"
if [[ "${BEACON_SKIP_DEPS:-0}" != 1 ]]; then "$ROOT/scripts/deps.sh"; fi
[[ -f "$ROOT/CMakeLists.txt" ]] || fail "no CMakeLists.txt in $ROOT"
[[ -f "$SPEC" ]] || fail "job spec $SPEC not found"

step "configure + build ($BUILD_DIR)"
if [[ "${BEACON_SKIP_BUILD:-0}" != 1 ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BEACON_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
  # Only the programs the demo runs; the test command builds the test targets.
  cmake --build "$BUILD_DIR" -j"${BEACON_JOBS:-2}" --target beacon-producer beacon-worker \
    beacon-progress-writer beacon-infer-sim beacon-dashboard
fi
PRODUCER=$BUILD_DIR/beacon-producer
WORKER=$BUILD_DIR/beacon-worker
WRITER=$BUILD_DIR/beacon-progress-writer
SIM=$BUILD_DIR/beacon-infer-sim
DASHBOARD=$BUILD_DIR/beacon-dashboard
for bin in "$PRODUCER" "$WORKER" "$WRITER" "$SIM" "$DASHBOARD"; do
  [[ -x "$bin" ]] || fail "$bin was not built"
done

rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"

# ------------------------------------------------------------------ services
step "private RabbitMQ + Postgres ($SERVICES_DIR)"
services_started=1
"$SERVICES" start "$SERVICES_DIR"
# shellcheck disable=SC1091
source "$SERVICES_DIR/env.sh"

step "migrate"
"$PRODUCER" migrate

# ------------------------------------------------------------------ fleet
step "inference simulator"
mapfile -t ports < <("$SERVICES" free-port $(( 3 + ${#REGIONS[@]} )))
SIM_PORT=${ports[0]}
# Paced so the job takes about half a minute (72 executions, one at a time per
# region): slow enough to watch in the dashboard.
LATENCY_MS=${BEACON_DEMO_LATENCY_MS:-1200}
start_bg infer-sim "$SIM" --port "$SIM_PORT" --latency-ms "$LATENCY_MS" --jitter-ms $(( LATENCY_MS / 3 ))
wait_tcp infer-sim "$SIM_PORT" 30

export BEACON_ENDPOINTS=$RUN_DIR/endpoints.json
{
  echo '{'
  echo '  "defaults": {"protocol": "openai"},'
  echo '  "endpoints": ['
  for i in "${!REGIONS[@]}"; do
    sep=,; ((i == ${#REGIONS[@]} - 1)) && sep=
    printf '    {"region": "%s", "model": "*", "url": "http://127.0.0.1:%s/v1", "protocol": "openai"}%s\n' \
      "${REGIONS[$i]}" "$SIM_PORT" "$sep"
  done
  echo '  ]'
  echo '}'
} >"$BEACON_ENDPOINTS"
echo "endpoint file: $BEACON_ENDPOINTS"

step "progress-writer and workers"
WRITER_METRICS=127.0.0.1:${ports[1]}
BEACON_METRICS_ADDR=$WRITER_METRICS start_bg progress-writer "$WRITER"
READY=("progress-writer $WRITER_METRICS")
for i in "${!REGIONS[@]}"; do
  region=${REGIONS[$i]}
  addr=127.0.0.1:${ports[$((i + 2))]}
  BEACON_METRICS_ADDR=$addr start_bg "worker-$region" "$WORKER" --region "$region" --concurrency 1
  READY+=("worker-$region $addr")
done
for entry in "${READY[@]}"; do
  wait_ready "${entry% *}" "${entry#* }" 60
done

# ------------------------------------------------------------------ dashboard
step "dashboard"
DASHBOARD_ADDR=${BEACON_DASHBOARD_ADDR:-127.0.0.1:8080}
if [[ -z "${BEACON_DASHBOARD_ADDR:-}" ]] && (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; then
  DASHBOARD_ADDR=127.0.0.1:${ports[$(( 2 + ${#REGIONS[@]} ))]}   # 8080 is taken
fi
BEACON_DASHBOARD_ADDR=$DASHBOARD_ADDR start_bg dashboard "$DASHBOARD"
wait_tcp dashboard "${DASHBOARD_ADDR##*:}" 30

# ------------------------------------------------------------------ job
JOB_ID=demo-$(date +%Y%m%d-%H%M%S)
printf '\n    watch it live:  http://%s/jobs/%s\n' "$DASHBOARD_ADDR" "$JOB_ID"
step "submit $SPEC as $JOB_ID"
"$PRODUCER" submit "$SPEC" --job-id "$JOB_ID"

step "watching $JOB_ID (up to ${JOB_TIMEOUT}s)"
"$PRODUCER" status "$JOB_ID" --watch &
WATCH_PID=$!
deadline=$(( $(date +%s) + JOB_TIMEOUT ))
while kill -0 "$WATCH_PID" 2>/dev/null; do
  check_fleet   # a part died: fail (cleanup stops the watch too)
  if (( $(date +%s) >= deadline )); then
    for i in "${!PIDS[@]}"; do tail_log "${NAMES[$i]}" "${LOGS[$i]}"; done
    fail "job $JOB_ID not finished within ${JOB_TIMEOUT}s"
  fi
  sleep 1
done
watch_rc=0; wait "$WATCH_PID" || watch_rc=$?
WATCH_PID=""
((watch_rc == 0)) || fail "beacon-producer status --watch exited with code $watch_rc"

# (status --watch ends with the final per-question table)
# The job id travels as a psql variable, never spliced into the SQL text.
job_status=$(psql -X -qtA -v job="$JOB_ID" "$BEACON_DATABASE_URL" 2>/dev/null <<<"select status from jobs where job_id = :'job'" || true)
if [[ -n "$job_status" && "$job_status" != completed ]]; then
  for i in "${!PIDS[@]}"; do tail_log "${NAMES[$i]}" "${LOGS[$i]}"; done
  fail "job $JOB_ID finished with status '$job_status'"
fi
echo "job $JOB_ID: ${job_status:-finished}"
echo "dashboard: http://$DASHBOARD_ADDR/jobs/$JOB_ID  (report: http://$DASHBOARD_ADDR/jobs/$JOB_ID/report)"
# On a terminal, keep the fleet and the page up until the user is done looking.
if [[ -t 0 && -t 1 ]]; then
  read -r -p $'\nThe fleet and the dashboard stay up: press Enter to stop them. ' _ || true
fi
# cleanup (EXIT trap) stops the fleet with SIGTERM, then the services.
