#!/usr/bin/env bash
# bench/submit_big.sh — submit of big jobs through the real producer, and
# report/export on a 1,000,000-row job (issue 9, the producer half).
#
#   bench/submit_big.sh                    (from the repository root)
#
# 1. Starts a private RabbitMQ + Postgres (.run/bench-submit-services, fresh,
#    deleted at the end unless BENCH_KEEP_DATA=1), migrates.
# 2. For each size in BENCH_SIZES (default "1000000 5000000"; " " for none): writes a JSONL
#    questions file (4 regions x 10 models x N/40 questions) and runs
#    `beacon-producer submit` under /usr/bin/time (wall seconds, peak RSS),
#    with BEACON_PRODUCER_LOG_LEVEL=info so it logs how long registering and
#    publishing took (they overlap). With BENCH_INLINE=1 (default) the 1M job
#    is also submitted once with its 25,000 questions inline in the spec (the
#    issue's measurement). Checks rows = N in Postgres and the queues' message
#    count = N, then deletes the queues (the broker would hold every message).
# 3. Creates the mixed-status 1M job of bench/job_1m.sh in SQL and times
#    `report JOB`, `report JOB --json` and `export JOB > /dev/null` (rows/s,
#    peak RSS).
# Knobs: BEACON_BUILD_DIR, BENCH_SIZES, BENCH_INLINE, BENCH_PG_SHARED_BUFFERS (common.sh), BENCH_STEP_TIMEOUT
#        (seconds per step, default 1500: a 5M submit on a loaded 2-core box took more than 900), BENCH_KEEP_DATA=1.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=bench/job_1m.sh
source "$(dirname "${BASH_SOURCE[0]}")/job_1m.sh"

SIZES=${BENCH_SIZES:-"1000000 5000000"}
INLINE=${BENCH_INLINE:-1}
LOG_DIR=$ROOT/.run/bench-submit
STEP_TIMEOUT=${BENCH_STEP_TIMEOUT:-1500}
REGIONS_JSON='["us-east","eu-west","asia-pacific","sa-east"]'
MODELS_JSON='["m00","m01","m02","m03","m04","m05","m06","m07","m08","m09"]'

need_bins "$PRODUCER"
need_tools /usr/bin/time psql awk
install_cleanup
say "machine: $(machine_line)"
say "private RabbitMQ + Postgres ($ROOT/.run/bench-submit-services)"
start_services "$ROOT/.run/bench-submit-services"
"$PRODUCER" migrate >"$LOG_DIR/migrate.log" 2>&1 || { cat "$LOG_DIR/migrate.log" >&2; die "migrate failed"; }
pg_settings_for_bench | sed 's/^/   /'

queued_total() {
  "$BEACON_RABBITMQCTL" list_queues name messages 2>/dev/null | awk '$1 ~ /^beacon\.exec\./ { n += $2 } END { print n + 0 }'
}
delete_exec_queues() {
  local q
  for q in $("$BEACON_RABBITMQCTL" list_queues name 2>/dev/null | awk '$1 ~ /^beacon\.exec\./ { print $1 }'); do
    "$BEACON_RABBITMQCTL" delete_queue "$q" >/dev/null 2>&1 || true
  done
}

# submit_one LABEL SPEC EXPECTED [extra args]
submit_one() {
  local label=$1 spec=$2 expected=$3 job t0 t1 wall rss rows queued
  shift 3
  job=bench-$label-$(date +%H%M%S)
  t0=$(now_ns)
  BEACON_PRODUCER_LOG_LEVEL=info timeout "$STEP_TIMEOUT" /usr/bin/time -f '%M' -o "$LOG_DIR/time.out" \
    "$PRODUCER" submit "$spec" --job-id "$job" "$@" >"$LOG_DIR/$label.out" 2>"$LOG_DIR/$label.err" ||
    { tail -5 "$LOG_DIR/$label.err" >&2; die "submit $label failed"; }
  t1=$(now_ns)
  wall=$(s_between "$t0" "$t1")
  rss=$(awk '{ printf "%.0f", $1 / 1024 }' "$LOG_DIR/time.out")
  rows=$(pg -t -A -v job="$job" <<<"SELECT count(*) FROM executions WHERE job_id = :'job'")
  # The broker's queue statistics trail by a few seconds: poll (bounded).
  for _ in $(seq 1 30); do
    queued=$(queued_total)
    [[ $queued == "$expected" ]] && break
    sleep 1
  done
  printf '%-28s %8s s  %6s exec/s  peak RSS %4s MiB  rows %s  queued %s\n' "submit $label" "$wall" \
    "$(rate "$expected" "$wall")" "$rss" "$rows" "$queued"
  grep -o 'registering took.*' "$LOG_DIR/$label.err" | sed 's/^/   /' || true
  [[ $rows == "$expected" && $queued == "$expected" ]] || die "$label: expected $expected rows and messages"
  delete_exec_queues
}

for n in $SIZES; do
  q=$((n / 40))
  say "submit of $n executions (4 regions x 10 models x $q questions from a JSONL file)"
  awk -v n="$q" 'BEGIN { for (i = 0; i < n; i++) printf "{\"id\":\"q%07d\",\"prompt\":\"Benchmark question %d: what is %d + %d?\"}\n", i, i, i, i }' \
    >"$LOG_DIR/q-$n.jsonl"
  printf '{"models":%s,"regions":%s,"questions_file":"q-%s.jsonl","samples":1,"system_prompt":"You are a helpful assistant based in {region}."}\n' \
    "$MODELS_JSON" "$REGIONS_JSON" "$n" >"$LOG_DIR/spec-$n.json"
  submit_one "file-$n" "$LOG_DIR/spec-$n.json" "$n"
  if [[ $INLINE == 1 && $n == 1000000 ]]; then
    say "submit of 1000000 executions, the 25,000 questions inline in the spec"
    {
      printf '{"models":%s,"regions":%s,"samples":1,"questions":[' "$MODELS_JSON" "$REGIONS_JSON"
      awk 'BEGIN { for (i = 0; i < 25000; i++) printf "%s{\"id\":\"q%05d\",\"prompt\":\"Benchmark question %d: what is %d + %d?\"}", (i ? "," : ""), i, i, i, i }'
      printf ']}\n'
    } >"$LOG_DIR/spec-inline.json"
    submit_one "inline-1000000" "$LOG_DIR/spec-inline.json" 1000000
  fi
  rm -f "$LOG_DIR/q-$n.jsonl"
done

say "report and export on a 1,000,000-row job of mixed statuses"
# The submitted jobs go first: with their millions of rows beside it, creating
# the mixed job (750,000 updated rows through three indexes much larger than
# shared_buffers) took over 15 minutes, and report and export would read a
# table and indexes of another size than on a database holding only this job.
pg -c "SET client_min_messages = warning" -c "TRUNCATE jobs CASCADE" -c "VACUUM" >/dev/null
create_1m_job
timed() {
  local label=$1 out=$2 t0 t1 wall
  shift 2
  t0=$(now_ns)
  timeout "$STEP_TIMEOUT" /usr/bin/time -f '%M' -o "$LOG_DIR/time.out" "$@" >"$out" 2>"$LOG_DIR/last.err" ||
    { cat "$LOG_DIR/last.err" >&2; die "$label failed"; }
  t1=$(now_ns)
  wall=$(s_between "$t0" "$t1")
  printf '%-34s %8s s  %8s rows/s  peak RSS %4s MiB\n' "$label" "$wall" "$(rate 1000000 "$wall")" \
    "$(awk '{ printf "%.0f", $1 / 1024 }' "$LOG_DIR/time.out")"
}
timed "report JOB" "$LOG_DIR/report.txt" "$PRODUCER" report "$JOB"
timed "report JOB --json" "$LOG_DIR/report.json" "$PRODUCER" report "$JOB" --json
timed "export JOB > /dev/null" /dev/null "$PRODUCER" export "$JOB"
say "done: $(machine_line)"
