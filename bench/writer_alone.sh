#!/usr/bin/env bash
# bench/writer_alone.sh — the progress-writer alone (issue 9's row "60,000 events
# queued, then the writer started"): a job's events are put in beacon.results
# by a worker while no writer runs, then one writer is started and timed until
# the job's rows are all committed. Prints events/s, the writer's batches and
# commit times from its /metrics, its peak RSS, and the Postgres settings.
#
#   bench/writer_alone.sh                     # 30,000 executions = 60,000 events
#   BENCH_EXECUTIONS=10000 bench/writer_alone.sh
#   BENCH_WRITER_ARGS="--batch-size 2000" bench/writer_alone.sh
#   BENCH_PERF=1 bench/writer_alone.sh        # the writer under `perf record -g`
#                                             # (report in .run/bench-writer/perf.txt)
#
# Postgres: fsync and synchronous_commit on (set here; the test services run
# without them). BENCH_PG_EXPLAIN=1 logs the plans of slow statements, trigger
# times included (auto_explain), to the private server's log.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LOG_DIR=$ROOT/.run/bench-writer
EXECUTIONS=${BENCH_EXECUTIONS:-30000}
NMODELS=10
REGION=bench-writer
read -r -a WRITER_ARGS <<<"${BENCH_WRITER_ARGS:-}"
export BEACON_QUEUE_TYPE=${BENCH_QUEUE_TYPE:-${BEACON_QUEUE_TYPE:-quorum}}

need_bins "$PRODUCER" "$WORKER" "$WRITER" "$SIM"
need_tools psql curl jq timeout
[[ ${BENCH_PERF:-0} == 1 ]] && need_tools perf
rm -rf "$LOG_DIR"
install_cleanup

say "machine"
machine_line
say "private RabbitMQ + Postgres"
start_services "$ROOT/.run/bench-writer-services"
"$PRODUCER" migrate
pg_settings_for_bench
if [[ ${BENCH_PG_EXPLAIN:-0} == 1 ]]; then
  # Plans (with trigger times) of every statement over 50 ms, in the server log.
  pg -c "LOAD 'auto_explain'" -c "ALTER SYSTEM SET session_preload_libraries = 'auto_explain'" -c "ALTER SYSTEM SET auto_explain.log_min_duration = 50" \
     -c "ALTER SYSTEM SET auto_explain.log_analyze = on" -c "ALTER SYSTEM SET auto_explain.log_triggers = on" \
     -c "ALTER SYSTEM SET auto_explain.log_nested_statements = on" -c "SELECT pg_reload_conf()" >/dev/null
fi

results_depth() {
  "$BEACON_RABBITMQCTL" list_queues name messages 2>/dev/null | awk '$1 == "beacon.results" { print $2 + 0 }'
}

mapfile -t ports < <("$SERVICES" free-port 3)
start_bg sim "$SIM" --port "${ports[0]}" --latency-ms 0
wait_tcp sim "${ports[0]}"
export BEACON_ENDPOINTS=$LOG_DIR/endpoints.json
printf '{"endpoints": [{"region": "%s", "model": "*", "url": "http://127.0.0.1:%s/v1", "max_in_flight": 64}]}\n' \
  "$REGION" "${ports[0]}" >"$BEACON_ENDPOINTS"

# The shape of a real job: many questions, each asked of every model once.
models=$(seq 0 $((NMODELS - 1)) | sed 's/^/"m/; s/$/"/' | paste -sd,)
questions=$(( (EXECUTIONS + NMODELS - 1) / NMODELS ))
total=$(( questions * NMODELS ))
job=bench-writer-$(date +%H%M%S)
seq 1 "$questions" | awk '{ printf "{\"id\":\"q%d\",\"prompt\":\"Question number %d?\"}\n", $1, $1 }' >"$LOG_DIR/questions.jsonl"
printf '{"models":[%s],"regions":["%s"],"questions_file":"questions.jsonl","samples":1}\n' "$models" "$REGION" \
  >"$LOG_DIR/spec.json"

say "queue the events: submit $total executions, one worker, no writer"
"$PRODUCER" submit "$LOG_DIR/spec.json" --job-id "$job"
BEACON_METRICS_ADDR=127.0.0.1:${ports[1]} start_bg "worker-$REGION" "$WORKER" --region "$REGION" --concurrency 64
events=$(( 2 * total ))
deadline=$(( $(date +%s) + 600 ))
until (( $(results_depth) >= events )); do
  check_alive
  (( $(date +%s) < deadline )) || die "beacon.results holds $(results_depth) of $events events after 600 s"
  sleep 0.5
done
stop_bg "worker-$REGION"
echo "beacon.results: $(results_depth) events queued for $total executions"

say "the writer alone: ${WRITER_ARGS[*]:-default flags}"
writer_cmd=("$WRITER" "${WRITER_ARGS[@]}")
if [[ ${BENCH_PERF:-0} == 1 ]]; then
  writer_cmd=(perf record -g -o "$LOG_DIR/perf.data" -- "${writer_cmd[@]}")
fi
RMQ_PID=$(service_pid rabbitmq)
PG_PID=$(service_pid postgres)
rmq0=$(cpu_ticks_tree "${RMQ_PID:-0}") pg0=$(cpu_ticks_tree "${PG_PID:-0}")
t0=$(now_ns)
BEACON_METRICS_ADDR=127.0.0.1:${ports[2]} start_bg writer "${writer_cmd[@]}"
writer_pid=$(pid_of writer)
[[ ${BENCH_PERF:-0} == 1 ]] && { sleep 0.5; writer_pid=$(pgrep -P "$writer_pid" | head -1); }
deadline=$(( $(date +%s) + 600 ))
while :; do
  done_rows=$(pg -At -v job="$job" <<<"select completed from jobs where job_id = :'job'")
  (( done_rows >= total )) && break
  check_alive
  (( $(date +%s) < deadline )) || die "only $done_rows of $total rows completed after 600 s"
  sleep 0.05
done
# The clock stops at the last row: one queue and one writer, so every event
# before the last terminal one is committed too. That the queue is empty is
# checked untimed: rabbitmqctl takes a second or more to start, and the
# broker's queue statistics trail by a few seconds (both were inside the
# figure before, 4-5 s of a 9 s run).
t1=$(now_ns)
rmq1=$(cpu_ticks_tree "${RMQ_PID:-0}") pg1=$(cpu_ticks_tree "${PG_PID:-0}")
for _ in $(seq 1 30); do
  (( $(results_depth) == 0 )) && break
  sleep 1
done
(( $(results_depth) == 0 )) || die "beacon.results still holds $(results_depth) events after every row completed"
read -r peak_rss _ writer_cpu <<<"$(proc_figures "$writer_pid")"
curl -fsS --max-time 10 "http://127.0.0.1:${ports[2]}/metrics" >"$LOG_DIR/writer-metrics.txt" || true
stop_bg writer
elapsed=$(s_between "$t0" "$t1")
metric() { awk -v n="$1" '$1 == n { print $2 }' "$LOG_DIR/writer-metrics.txt"; }
batches=$(metric beacon_writer_batch_size_count)
commit_sum=$(metric beacon_writer_commit_seconds_sum)

say "figures"
printf '%-40s %8s s   %6s events/s (%d events, %d rows; from the writer'"'"'s start to the last row)\n' \
  "writer alone" "$elapsed" "$(rate "$events" "$elapsed")" "$events" "$total"
printf '%-40s %8s   mean %s events a batch, mean commit %s ms\n' "batches" "${batches:-?}" \
  "$(rate "$events" "${batches:-0}")" "$(awk -v s="${commit_sum:-0}" -v b="${batches:-0}" 'BEGIN { if (b > 0) printf "%.1f", 1000 * s / b; else print "?" }')"
printf '%-40s %8s MiB\n' "writer peak RSS" "$peak_rss"
# Who had the cores while the writer ran (2 cores x the wall time are available).
printf '%-40s writer %s, rabbitmq %s, postgres %s (of %s available)\n' "CPU seconds during the run" "${writer_cpu:-?}" \
  "$(ticks_between_s "$rmq0" "$rmq1")" \
  "$(ticks_between_s "$pg0" "$pg1")" \
  "$(awk -v e="$elapsed" -v n="$(nproc)" 'BEGIN { printf "%.1f", e * n }')"
if [[ ${BENCH_PERF:-0} == 1 ]]; then
  perf report -i "$LOG_DIR/perf.data" --no-children --percent-limit 1.5 --stdio >"$LOG_DIR/perf.txt" 2>/dev/null || true
  echo "perf report: $LOG_DIR/perf.txt"
fi
