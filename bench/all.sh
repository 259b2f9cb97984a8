#!/usr/bin/env bash
# bench/all.sh — every figure of issue 9's table in one run (docs/performance.md).
#
#   bench/all.sh                            (from the repository root, after a build)
#
# Runs, one after the other (never overlapping: the figures share 2 cores),
# each with its own fresh private RabbitMQ + Postgres and the same Postgres
# settings (fsync, synchronous_commit and full_page_writes on; printed by each):
#   1. bench/throughput.sh: 3 regions x 10 models x BENCH_ALL_QUESTIONS (300)
#      questions end to end at simulator latency 0 and 200 ± 50 ms, each
#      followed by the same job through the Celery pipeline, and the ratio;
#   2. bench/throughput.sh with one worker, --concurrency 1000 and
#      max_in_flight 1000 against 200 ms (40,000 executions): requests in
#      flight in one process, its RSS and throughput, and the lag from a
#      completion to its row when the writer is saturated;
#   2b. (lag) the same with --concurrency 200: 200 in flight ÷ 0.2 s = 1,000
#      executions/s, the rate of the issue's lag target (30,000 executions);
#   3. bench/writer_alone.sh: the progress-writer alone on 60,000 queued events;
#   4. bench/submit_big.sh: submit of BENCH_ALL_SIZES (1000000; add 5000000
#      for the spec's limit, ≈ 8 more minutes), then report and export on a
#      1,000,000-row job of mixed statuses;
#   5. bench/status_1m.sh: status on a 1,000,000-execution job.
# Then prints the lines that carry the figures, under "summary". Each step's
# whole output is in .run/bench-all/<step>.log.
#
# Knobs: BEACON_BUILD_DIR, BENCH_ALL_QUESTIONS, BENCH_ALL_SIZES, BENCH_ALL_STEPS
#        (default "throughput one_worker lag writer submit status"; a subset runs
#        only those). About 25 minutes on 2 cores with the defaults.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

BENCH=$ROOT/bench
LOG_DIR=$ROOT/.run/bench-all
read -r -a STEPS <<<"${BENCH_ALL_STEPS:-throughput one_worker lag writer submit status}"
rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"

run_step() {   # run_step NAME ENV... -- SCRIPT: its output to the terminal and NAME.log
  local name=$1; shift
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  say "$name: ${envs[*]} $*"
  echo "start: load avg $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$LOG_DIR/$name.log"
  env "${envs[@]}" "$@" 2>&1 | tee -a "$LOG_DIR/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "end: load avg $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$LOG_DIR/$name.log"
  ((rc == 0)) || die "$name failed (exit $rc); see $LOG_DIR/$name.log"
}

say "machine"
machine_line | tee "$LOG_DIR/machine.txt"
echo "build: $BUILD_DIR ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))" | tee -a "$LOG_DIR/machine.txt"

for step in "${STEPS[@]}"; do
  case $step in
    throughput) run_step throughput "BENCH_QUESTIONS=${BENCH_ALL_QUESTIONS:-300}" -- "$BENCH/throughput.sh" ;;
    one_worker) run_step one_worker BENCH_REGIONS=us-east BENCH_CONCURRENCY=1000 BENCH_LATENCIES=200:0 \
                  BENCH_CELERY=0 BENCH_QUESTIONS=4000 -- "$BENCH/throughput.sh" ;;
    lag) run_step lag BENCH_REGIONS=us-east BENCH_CONCURRENCY=200 BENCH_LATENCIES=200:0 \
           BENCH_CELERY=0 BENCH_QUESTIONS=3000 -- "$BENCH/throughput.sh" ;;
    writer) run_step writer BENCH_EXECUTIONS=30000 -- "$BENCH/writer_alone.sh" ;;
    submit) run_step submit "BENCH_SIZES=${BENCH_ALL_SIZES:-1000000}" -- "$BENCH/submit_big.sh" ;;
    status) run_step status BENCH_RUNS=10 BENCH_SCAN_RUNS=1 -- "$BENCH/status_1m.sh" ;;
    *) die "unknown step '$step' in BENCH_ALL_STEPS" ;;
  esac
done

say "summary ($(cut -d' ' -f1-3 /proc/loadavg) load avg at the end)"
cat "$LOG_DIR/machine.txt"
# The lines that carry the table's figures, step by step.
show() {   # show STEP REGEX
  [[ -f $LOG_DIR/$1.log ]] || return 0
  grep -E "$2" "$LOG_DIR/$1.log" | sed "s/^/[$1] /" || true
}
show throughput '^(start|end): load|^latency |^postgres:'
show one_worker '^(start|end): load|^latency |max_in_flight|^worker-us-east|^writer:'
show lag '^(start|end): load|^latency |^writer:'
show writer '^(start|end): load|events/s|^batches|peak RSS|^postgres:'
show submit '^(start|end): load|^submit |^report|^export|rows/s'
show status '^(start|end): load|^beacon-producer status|^server: job'
