#!/usr/bin/env bash
# bench/throughput.sh — throughput and memory of the whole fleet on one machine.
#
#   bench/throughput.sh                     (from the repository root)
#
# Starts a private RabbitMQ + Postgres (.run/bench-throughput-services, fresh,
# deleted again at the end unless BENCH_KEEP_DATA=1), then for each simulator
# setting (default: latency 0 ms, then 200 ± 50 ms):
#   beacon-infer-sim, one beacon-progress-writer, one beacon-worker per region
#   (us-east, eu-west, asia-pacific; --concurrency 64, max_in_flight 64),
#   a job of 3 regions x 10 models x 1000 inline questions x 1 sample = 30,000
#   executions submitted with the real `beacon-producer submit`, and prints
#   - submit: wall time, messages/s enqueued (publisher confirms), peak RSS;
#   - submit -> job completed: wall time and executions/s end to end (seen by
#     polling `status JOB --json` every 0.2 s), and the same from the job row
#     (finished_at - created_at, no polling granularity);
#   - per worker / writer / sim: peak RSS (VmHWM from /proc/PID/status, read
#     before stopping) and CPU seconds; CPU seconds of RabbitMQ and Postgres
#     during the job (where the time goes on a 2-core machine);
#   - the sim's /stats: requests, completed, duplicates, completed_duplicates
#     (each execution must reach the endpoint exactly once: completed = total,
#     completed_duplicates = 0).
#
# Why 1000 questions x 1 sample and not 100 x 10: the sim counts a duplicate
# per (model, region, prompt, seed), and the samples of one question send the
# same request, so samples > 1 would show up as "duplicates" by construction.
#
# Knobs: BEACON_BUILD_DIR (default build/ of this repository),
#        BENCH_LATENCIES (default "0:0 200:50", latency:jitter ms per run),
#        BENCH_REGIONS ("us-east eu-west asia-pacific": one worker each),
#        BENCH_QUESTIONS (1000), BENCH_SAMPLES (1), BENCH_MODELS (10),
#        BENCH_CONCURRENCY (64), BENCH_JOB_TIMEOUT (300 s per job),
#        BENCH_QUEUE_TYPE (quorum; `classic` for BEACON_QUEUE_TYPE), BENCH_KEEP_DATA=1,
#        BENCH_PG_DURABLE (1: Postgres with fsync, synchronous_commit and
#        full_page_writes on, for both pipelines; 0 keeps the test services' off),
#        BENCH_CELERY (1: after each beacon run, the same job through a Celery
#        pipeline of the same topology on the same broker and database, and the
#        ratio; bench/celery_run.sh; 0 skips it).
# Bounded: every wait has a deadline; a whole run takes about 3 minutes on 2 cores.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/celery_run.sh"

LOG_DIR=$ROOT/.run/bench-throughput
# BENCH_REGIONS="us-east" runs one worker: the one-process in-flight figure.
read -r -a REGIONS <<< "${BENCH_REGIONS:-us-east eu-west asia-pacific}"
NMODELS=${BENCH_MODELS:-10}
QUESTIONS=${BENCH_QUESTIONS:-1000}
SAMPLES=${BENCH_SAMPLES:-1}
CONCURRENCY=${BENCH_CONCURRENCY:-64}
JOB_TIMEOUT=${BENCH_JOB_TIMEOUT:-300}
read -r -a LATENCIES <<<"${BENCH_LATENCIES:-0:0 200:50}"
export BEACON_QUEUE_TYPE=${BENCH_QUEUE_TYPE:-${BEACON_QUEUE_TYPE:-quorum}}

need_bins "$PRODUCER" "$WORKER" "$WRITER" "$SIM"
need_tools /usr/bin/time psql curl jq timeout
rm -rf "$LOG_DIR"
install_cleanup

say "machine"
machine_line
echo "build: $BUILD_DIR ($(git -C "$BUILD_DIR/.." rev-parse --short HEAD 2>/dev/null || echo '?')), queues: $BEACON_QUEUE_TYPE"

say "private RabbitMQ + Postgres ($ROOT/.run/bench-throughput-services)"
start_services "$ROOT/.run/bench-throughput-services"
"$PRODUCER" migrate
# The same Postgres settings for beacon and Celery (printed).
pg_settings_for_bench

# ------------------------------------------------------------ the job spec
SPEC=$LOG_DIR/spec.json
{
  printf '{\n  "models": ['
  for ((m = 1; m <= NMODELS; m++)); do printf '%s"bench-model-%02d"' "$( ((m > 1)) && echo ', ')" "$m"; done
  printf '],\n  "regions": ['
  for i in "${!REGIONS[@]}"; do printf '%s"%s"' "$( ((i > 0)) && echo ', ')" "${REGIONS[$i]}"; done
  printf '],\n  "questions": [\n'
  for ((q = 1; q <= QUESTIONS; q++)); do
    printf '    {"id": "q%04d", "prompt": "Benchmark question %d: name one fact about the number %d."}%s\n' \
      "$q" "$q" "$q" "$( ((q < QUESTIONS)) && echo ,)"
  done
  printf '  ],\n  "samples": %d,\n' "$SAMPLES"
  printf '  "system_prompt": "You are a helpful assistant based in {region}.",\n'
  printf '  "params": {"temperature": 0.1, "max_tokens": 128}\n}\n'
} >"$SPEC"
TOTAL=$(( ${#REGIONS[@]} * NMODELS * QUESTIONS * SAMPLES ))
SPEC_BYTES=$(stat -c %s "$SPEC")
((SPEC_BYTES < 16 * 1024 * 1024)) || die "spec is $SPEC_BYTES bytes, over the 16 MiB limit"
jq -e . "$SPEC" >/dev/null || die "generated spec is not JSON"
echo "spec: ${#REGIONS[@]} regions x $NMODELS models x $QUESTIONS questions x $SAMPLES samples = $TOTAL executions ($SPEC_BYTES bytes)"

# ------------------------------------------------------------ helpers
RMQ_PID=$(service_pid rabbitmq)
PG_PID=$(service_pid postgres)
[[ -n $RMQ_PID && -n $PG_PID ]] || echo "bench: could not find the broker/database pids; their CPU is not shown" >&2

SUMMARY=()

run_one() {
  local latency=$1 jitter=$2
  local tag="lat${latency}-jit${jitter}" ports sim_port job t0 t1 t2 st i region addr
  say "run: sim --latency-ms $latency --jitter-ms $jitter, 1 writer, ${#REGIONS[@]} workers x --concurrency $CONCURRENCY"
  mapfile -t ports < <("$SERVICES" free-port $(( 2 + ${#REGIONS[@]} )))
  sim_port=${ports[0]}
  start_bg "sim-$tag" "$SIM" --port "$sim_port" --latency-ms "$latency" --jitter-ms "$jitter"
  wait_tcp sim "$sim_port"

  export BEACON_ENDPOINTS=$LOG_DIR/endpoints-$tag.json
  {
    printf '{"defaults": {"protocol": "openai", "timeout_s": 60, "max_in_flight": %d},\n "endpoints": [\n' "$CONCURRENCY"
    for i in "${!REGIONS[@]}"; do
      printf '  {"region": "%s", "model": "*", "url": "http://127.0.0.1:%s/v1"}%s\n' \
        "${REGIONS[$i]}" "$sim_port" "$( ((i < ${#REGIONS[@]} - 1)) && echo ,)"
    done
    printf ']}\n'
  } >"$BEACON_ENDPOINTS"

  BEACON_METRICS_ADDR=127.0.0.1:${ports[1]} start_bg "writer-$tag" "$WRITER"
  for i in "${!REGIONS[@]}"; do
    region=${REGIONS[$i]}
    BEACON_METRICS_ADDR=127.0.0.1:${ports[$((i + 2))]} \
      start_bg "worker-$region-$tag" "$WORKER" --region "$region" --concurrency "$CONCURRENCY"
  done
  wait_ready writer "127.0.0.1:${ports[1]}"
  for i in "${!REGIONS[@]}"; do wait_ready "worker-${REGIONS[$i]}" "127.0.0.1:${ports[$((i + 2))]}"; done

  job=bench-tp-$tag-$(date +%H%M%S)
  local rmq0=0 pg0=0 rmq1=0 pg1=0
  [[ -n $RMQ_PID ]] && rmq0=$(cpu_ticks_tree "$RMQ_PID")
  [[ -n $PG_PID ]] && pg0=$(cpu_ticks_tree "$PG_PID")
  t0=$(now_ns)
  timeout "$JOB_TIMEOUT" /usr/bin/time -f '%e %M' -o "$LOG_DIR/submit-$tag.time" \
    "$PRODUCER" submit "$SPEC" --job-id "$job" >"$LOG_DIR/submit-$tag.json" 2>"$LOG_DIR/submit-$tag.err" ||
    { cat "$LOG_DIR/submit-$tag.err" >&2; die "submit failed"; }
  t1=$(now_ns)
  local enq submit_s submit_rss
  enq=$(jq -r .enqueued "$LOG_DIR/submit-$tag.json")
  submit_s=$(s_between "$t0" "$t1")
  submit_rss=$(awk '{ printf "%.1f", $2 / 1024 }' "$LOG_DIR/submit-$tag.time")
  echo "submit: $(cat "$LOG_DIR/submit-$tag.json")"

  local deadline=$(( $(date +%s) + JOB_TIMEOUT ))
  while :; do
    st=$("$PRODUCER" status "$job" --json 2>/dev/null | jq -r .status) || st=""
    [[ $st == completed || $st == failed || $st == cancelled ]] && break
    check_alive
    (( $(date +%s) < deadline )) || die "job $job not finished within ${JOB_TIMEOUT}s (status '$st')"
    sleep 0.2
  done
  t2=$(now_ns)
  [[ -n $RMQ_PID ]] && rmq1=$(cpu_ticks_tree "$RMQ_PID")
  [[ -n $PG_PID ]] && pg1=$(cpu_ticks_tree "$PG_PID")
  local e2e_s db_s
  e2e_s=$(s_between "$t0" "$t2")
  LAST_E2E_S=$e2e_s
  db_s=$(pg -At -v job="$job" <<<"select round(extract(epoch from finished_at - created_at)::numeric, 2) from jobs where job_id = :'job'")

  local final
  final=$("$PRODUCER" status "$job" --json | jq -c '{status, total, completed, failed, running}')
  echo "final: $final"

  printf '%-34s %8.2f s   %6s msg/s enqueued (confirmed)   peak RSS %s MiB\n' \
    "submit ($enq messages)" "$submit_s" "$(rate "$enq" "$submit_s")" "$submit_rss"
  printf '%-34s %8.2f s   %6s executions/s   (polled every 0.2 s)\n' "submit -> job $st" "$e2e_s" "$(rate "$TOTAL" "$e2e_s")"
  printf '%-34s %8.2f s   %6s executions/s\n' "jobs.finished_at - created_at" "$db_s" "$(rate "$TOTAL" "$db_s")"

  printf '%-34s %10s %10s %8s\n' "process" "peak MiB" "now MiB" "CPU s"
  local name pid f hwms=()
  for name in "writer-$tag" "${REGIONS[@]/#/worker-}" "sim-$tag"; do
    [[ $name == worker-* ]] && name=$name-$tag
    pid=$(pid_of "$name")
    read -r -a f <<<"$(proc_figures "$pid")"
    printf '%-34s %10s %10s %8s\n' "$name" "${f[0]}" "${f[1]}" "${f[2]}"
    hwms+=("$name=${f[0]}")
  done

  printf '%-34s %10s %10s %8s\n' "rabbitmq (during the job)" "" "" "$(ticks_between_s "$rmq0" "$rmq1")"
  printf '%-34s %10s %10s %8s\n' "postgres (during the job)" "" "" "$(ticks_between_s "$pg0" "$pg1")"
  echo "(CPU available during the job: $(nproc) cores x ${e2e_s} s; the machine is shared, load avg $(cut -d' ' -f1-3 /proc/loadavg))"

  # The parts' own counters (Prometheus text from /metrics).
  metric() {   # value of metric $2 in file $1, labels ignored (0 when absent)
    awk -v n="$2" '{ k = $1; sub(/\{.*/, "", k) } k == n { v = $2; found = 1; exit } END { print found ? v : 0 }' "$1"
  }
  curl -fsS --max-time 10 "http://127.0.0.1:${ports[1]}/metrics" >"$LOG_DIR/writer-metrics-$tag.txt" || true
  local wm=$LOG_DIR/writer-metrics-$tag.txt
  awk -v c="$(metric "$wm" beacon_writer_events_consumed_total)" -v a="$(metric "$wm" beacon_writer_events_applied_total)" \
      -v ig="$(metric "$wm" beacon_writer_events_ignored_total)" \
      -v bn="$(metric "$wm" beacon_writer_batch_size_count)" -v bs="$(metric "$wm" beacon_writer_batch_size_sum)" \
      -v cs="$(metric "$wm" beacon_writer_commit_seconds_sum)" \
      -v ln="$(metric "$wm" beacon_writer_event_lag_seconds_count)" -v ls="$(metric "$wm" beacon_writer_event_lag_seconds_sum)" \
      'BEGIN { if (bn > 0) printf "writer: %d events consumed, %d applied, %d ignored; %d batches of %.1f events on average, %.1f ms per commit; event -> commit lag %.3f s mean\n", c, a, ig, bn, bs / bn, 1000 * cs / bn, (ln > 0 ? ls / ln : 0) }'
  # Completion (worker's completed_at) -> row committed, one observation per
  # terminal event: the share within 250 ms and the bucket bound holding
  # p50 / p95 / p99 (an upper bound of each; the buckets are 10 ms .. 60 s).
  local visible
  visible=$(awk '/^beacon_writer_completion_to_visible_seconds_bucket/ {
         le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le); n++; bound[n] = le; cum[n] = $2 }
       /^beacon_writer_completion_to_visible_seconds_count/ { total = $2 }
       END {
         if (total == 0) exit
         for (i = 1; i <= n; i++) if (bound[i] == "0.25") w = cum[i]
         split("0.5 0.95 0.99", qs, " ")
         for (j = 1; j <= 3; j++) for (i = 1; i <= n; i++) if (cum[i] >= qs[j] * total) { q[j] = bound[i]; break }
         printf "completion -> row visible: %d executions, %.1f %% within 0.25 s; p50 <= %s s, p95 <= %s s, p99 <= %s s\n",
                total, 100 * w / total, q[1], q[2], q[3] }' "$wm")
  echo "$visible"
  local consumed=0 acked=0 requeued=0 skipped=0 wmx
  for i in "${!REGIONS[@]}"; do
    wmx=$LOG_DIR/worker-${REGIONS[$i]}-metrics-$tag.txt
    curl -fsS --max-time 10 "http://127.0.0.1:${ports[$((i + 2))]}/metrics" >"$wmx" || continue
    consumed=$(( consumed + $(metric "$wmx" beacon_worker_messages_consumed_total | cut -d. -f1) ))
    acked=$(( acked + $(metric "$wmx" beacon_worker_messages_acked_total | cut -d. -f1) ))
    requeued=$(( requeued + $(metric "$wmx" beacon_worker_messages_requeued_total | cut -d. -f1) ))
    skipped=$(( skipped + $(metric "$wmx" beacon_worker_skipped_already_completed_total | cut -d. -f1) ))
  done
  echo "workers: $consumed messages consumed, $acked acked, $requeued requeued, $skipped skipped as already completed"

  curl -fsS --max-time 10 "http://127.0.0.1:$sim_port/stats" >"$LOG_DIR/sim-stats-$tag.json"
  local simline
  simline=$(jq -c '{requests, completed, duplicates, completed_duplicates, max_in_flight, by_status}' "$LOG_DIR/sim-stats-$tag.json")
  echo "sim /stats: $simline"
  local req comp cdup
  read -r req comp cdup < <(jq -r '"\(.requests) \(.completed) \(.completed_duplicates)"' "$LOG_DIR/sim-stats-$tag.json")
  if [[ $st == completed && $comp == "$TOTAL" && $cdup == 0 ]]; then
    echo "OK: $TOTAL executions, each answered by the endpoint exactly once ($req requests in all)"
  else
    echo "WARNING: job $st, sim answered $comp of $TOTAL, completed_duplicates $cdup, requests $req" >&2
  fi

  local stop_names=()
  for region in "${REGIONS[@]}"; do stop_names+=("worker-$region-$tag"); done
  stop_bg "${stop_names[@]}"
  stop_bg "writer-$tag"
  stop_bg "sim-$tag"
  PIDS=() NAMES=() LOGS=()

  SUMMARY+=("$(printf 'latency %s±%s ms: submit %ss (%s msg/s), e2e %ss (%s exec/s; db %ss), %s, sim %s' \
    "$latency" "$jitter" "$submit_s" "$(rate "$enq" "$submit_s")" "$e2e_s" "$(rate "$TOTAL" "$e2e_s")" "$db_s" \
    "peak MiB: ${hwms[*]}" "$simline")")
  [[ -z $visible ]] || SUMMARY+=("latency $latency±$jitter ms: $visible")
}

for lj in "${LATENCIES[@]}"; do
  run_one "${lj%%:*}" "${lj##*:}"
  if [[ ${BENCH_CELERY:-1} == 1 ]]; then
    beacon_rate=$(rate "$TOTAL" "$LAST_E2E_S")
    run_celery "${lj%%:*}" "${lj##*:}"
    SUMMARY+=("$(printf 'latency %s ms: beacon %s exec/s / Celery %s exec/s = %s x' "${lj%%:*}" "$beacon_rate" \
      "$CELERY_RATE" "$(awk -v a="$beacon_rate" -v b="$CELERY_RATE" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }')")")
  fi
done

say "dead-letter queue (must be empty)"
if [[ -n ${BEACON_RABBITMQCTL:-} ]]; then
  "$BEACON_RABBITMQCTL" list_queues name messages 2>/dev/null | awk '$1 ~ /^beacon\./' || true
fi

say "summary"
printf '%s\n' "${SUMMARY[@]}"
