# shellcheck shell=bash
# bench/celery_run.sh — sourced by bench/throughput.sh: the same job through a
# Celery pipeline of the same topology (bench/celery/pipeline.py) on the same
# broker, database and a fresh simulator of the same latency: one Celery worker
# per region with a gevent pool of $CONCURRENCY (I/O-bound tasks: the pool Celery recommends), one progress worker (prefork, 4). Adds a
# line to SUMMARY and sets CELERY_RATE (executions/s).
CELERY_PY=/usr/bin/python3   # Debian's python3, which has python3-celery

run_celery() {
  local latency=$1 jitter=$2
  "$CELERY_PY" -c 'import celery, gevent, psycopg2, requests' 2>/dev/null ||
    apt_install python3-celery python3-gevent python3-psycopg2 python3-requests
  local tag="celery-lat${latency}-jit${jitter}" ports sim_port job t0 t1 done_rows deadline region
  say "run: the same job through Celery (sim --latency-ms $latency --jitter-ms $jitter, ${#REGIONS[@]} workers x $CONCURRENCY greenlets)"
  mapfile -t ports < <("$SERVICES" free-port 1)
  sim_port=${ports[0]}
  start_bg "sim-$tag" "$SIM" --port "$sim_port" --latency-ms "$latency" --jitter-ms "$jitter"
  wait_tcp sim "$sim_port"
  export CELERY_BROKER_URL=$BEACON_AMQP_URL CELERY_DATABASE_URL=$BEACON_DATABASE_URL
  export CELERY_SIM_URL=http://127.0.0.1:$sim_port CELERY_BENCH_REGIONS
  CELERY_BENCH_REGIONS=$(IFS=,; echo "${REGIONS[*]}")
  export PYTHONPATH=$ROOT/bench/celery
  for region in "${REGIONS[@]}"; do
    start_bg "worker-$tag-$region" "$CELERY_PY" -m celery -A pipeline worker -Q "celery.exec.$region" \
      -P gevent -c "$CONCURRENCY" --without-gossip --without-mingle --without-heartbeat -l WARNING -n "$region@%h"
  done
  # The progress worker runs a prefork pool of 4: with acks_late its thread
  # pool took messages in bursts 5 s apart on Celery 5.2 (seen here, not tuned away).
  start_bg "writer-$tag" "$CELERY_PY" -m celery -A pipeline worker -Q celery.progress -P prefork -c 4 \
    --without-gossip --without-mingle --without-heartbeat -l WARNING -n "progress@%h"
  job=bench-celery-$tag-$(date +%H%M%S)
  t0=$(now_ns)
  "$CELERY_PY" "$ROOT/bench/celery/submit.py" "$SPEC" "$job" >"$LOG_DIR/submit-$tag.out" 2>&1 ||
    { cat "$LOG_DIR/submit-$tag.out" >&2; die "celery submit failed"; }
  # Celery is an order of magnitude slower here: it gets four times the job timeout.
  deadline=$(( $(date +%s) + 4 * JOB_TIMEOUT ))
  while :; do
    done_rows=$(pg -At -v job="$job" <<<"select completed from celery_jobs where job_id = :'job'")
    (( done_rows >= TOTAL )) && break
    check_alive
    (( $(date +%s) < deadline )) || die "celery job $job: $done_rows of $TOTAL after $((4 * JOB_TIMEOUT))s"
    sleep 0.2
  done
  t1=$(now_ns)
  local e2e_s
  e2e_s=$(s_between "$t0" "$t1")
  CELERY_RATE=$(rate "$TOTAL" "$e2e_s")
  printf '%-34s %8.2f s   %6s executions/s   (Celery 5.2, acks_late, quorum queues)\n' "celery submit -> done" "$e2e_s" "$CELERY_RATE"
  local stop_names=()
  for region in "${REGIONS[@]}"; do stop_names+=("worker-$tag-$region"); done
  stop_bg "${stop_names[@]}"
  stop_bg "writer-$tag" "sim-$tag"
  PIDS=() NAMES=() LOGS=()
  SUMMARY+=("$(printf 'latency %s±%s ms: Celery e2e %ss (%s exec/s)' "$latency" "$jitter" "$e2e_s" "$CELERY_RATE")")
}
