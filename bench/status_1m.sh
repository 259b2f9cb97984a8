#!/usr/bin/env bash
# bench/status_1m.sh — how fast progress reads are on a job of 1,000,000 executions.
#
#   bench/status_1m.sh                      (from the repository root)
#
# 1. Starts a private RabbitMQ + Postgres (.run/bench-status-services, fresh,
#    deleted again at the end unless BENCH_KEEP_DATA=1) and migrates.
# 2. Creates one job of 4 regions x 10 models x 250 questions x 100 samples =
#    1,000,000 executions directly in SQL (generate_series into jobs +
#    executions; registering through `beacon-producer submit` would make the
#    broker hold 1M messages). The statement triggers of migration 0003 fill
#    the per-group counters. Then one UPDATE gives it a plausible mix:
#    ~70% completed (with output, receipt, latency; ~10% of those refused),
#    3% failed, 2% running, 25% pending — and the job counters to match.
#    Prints how long each step took.
# 3. Times (wall clock of the whole process, connection included):
#    `beacon-producer status JOB`, `status JOB --json`, `status JOB --by region`
#    (BENCH_RUNS times each, default 20; min/median/max ms), `psql -c` of
#    job_progress and question_progress (the latter computes from the rows:
#    BENCH_SCAN_RUNS times, default 5), then `export JOB > /dev/null` and
#    `report JOB` once each (rows/s and peak RSS), and EXPLAIN ANALYZE of
#    the reads (server-side time, without process start and connection).
#    Baselines first (/bin/true, `status --help`, `psql -c 'select 1'`) show
#    how much of a wall time is the machine rather than the query.
#
# Knobs: BEACON_BUILD_DIR (default build/ of this repository), BENCH_RUNS,
#        BENCH_SCAN_RUNS, BENCH_KEEP_DATA=1. Bounded: every step has a timeout;
#        a whole run takes about 3-6 minutes on 2 cores.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=bench/job_1m.sh
source "$(dirname "${BASH_SOURCE[0]}")/job_1m.sh"

RUNS=${BENCH_RUNS:-20}
SCAN_RUNS=${BENCH_SCAN_RUNS:-5}
LOG_DIR=$ROOT/.run/bench-status
STEP_TIMEOUT=${BENCH_STEP_TIMEOUT:-600}   # seconds, per SQL step / export / report

need_bins "$PRODUCER"
need_tools /usr/bin/time psql jq timeout
rm -rf "$LOG_DIR"
install_cleanup

say "machine"
machine_line
echo "build: $BUILD_DIR ($(git -C "$BUILD_DIR/.." rev-parse --short HEAD 2>/dev/null || echo '?'))"

say "private RabbitMQ + Postgres ($ROOT/.run/bench-status-services)"
start_services "$ROOT/.run/bench-status-services"
"$PRODUCER" migrate
pg_settings_for_bench

create_1m_job

say "check: the group counters agree with a recount of the rows"
pg -v job="$JOB" -A -F ' ' -t <<'SQL' | tee "$LOG_DIR/check.out"
SELECT 'job', total, completed, failed, running, total - completed - failed - running AS pending
FROM jobs WHERE job_id = :'job';
SELECT 'rows', count(*), count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'failed'),
       count(*) FILTER (WHERE status = 'running'), count(*) FILTER (WHERE status = 'pending')
FROM executions WHERE job_id = :'job';
SELECT 'groups-' || dimension, sum(total), sum(completed), sum(failed), sum(running), sum(pending)
FROM job_group_counts WHERE job_id = :'job' GROUP BY dimension ORDER BY dimension;
SELECT 'size', pg_size_pretty(pg_total_relation_size('executions'));
SQL
awk '$1 != "size" { k = $2 " " $3 " " $4 " " $5 " " $6; if (NR > 1 && k != first) bad = 1; if (NR == 1) first = k }
     END { exit bad }' "$LOG_DIR/check.out" || die "counters disagree with the rows (see above)"
echo "counters agree"

say "baselines: what starting a process and connecting cost on this machine right now"
time_runs "baseline: /bin/true (fork + exec)" "$RUNS" /bin/true
time_runs "baseline: beacon-producer status --help" "$RUNS" "$PRODUCER" status --help
time_runs "baseline: psql -c 'select 1' (connect)" "$RUNS" psql -X -q -At "$BEACON_DATABASE_URL" -c "select 1"
# On Debian /usr/bin/psql is pg_wrapper, a Perl script: the real binary shows
# what the wrapper costs.
PSQL_BIN=$(find /usr/lib/postgresql -path '*/bin/psql' 2>/dev/null | sort -V | tail -n 1)
if [[ -n $PSQL_BIN ]]; then
  time_runs "baseline: ${PSQL_BIN#/usr/lib/} -c 'select 1'" "$RUNS" "$PSQL_BIN" -X -q -At "$BEACON_DATABASE_URL" -c "select 1"
fi

say "progress reads on the 1M job (wall clock per process, connection included)"
time_runs "beacon-producer status JOB" "$RUNS" "$PRODUCER" status "$JOB"
time_runs "beacon-producer status JOB --json" "$RUNS" "$PRODUCER" status "$JOB" --json
time_runs "beacon-producer status JOB --by region" "$RUNS" "$PRODUCER" status "$JOB" --by region
# The job id is generated here ([a-z0-9-]), so it is safe inside the -c text.
time_runs "psql -c: select * from job_progress" "$RUNS" \
  psql -X -q -At "$BEACON_DATABASE_URL" -c "select * from job_progress where job_id = '$JOB'"
if [[ -n $PSQL_BIN ]]; then
  time_runs "${PSQL_BIN##*/} (no wrapper) -c: job_progress" "$RUNS" \
    "$PSQL_BIN" -X -q -At "$BEACON_DATABASE_URL" -c "select * from job_progress where job_id = '$JOB'"
fi
time_runs "psql -c: select * from question_progress" "$SCAN_RUNS" \
  psql -X -q -At "$BEACON_DATABASE_URL" -c "select * from question_progress where job_id = '$JOB'"

# Statements with the job id as a psql variable, on stdin.
jp() { psql -X -q -At -v ON_ERROR_STOP=1 -v job="$JOB" "$BEACON_DATABASE_URL" <<<"$1"; }

say "the same reads inside the server (EXPLAIN ANALYZE, execution time only)"
exec_ms() {   # prints the server-side execution time of the statement, in ms
  jp "explain (analyze, format json) $1" | jq -r '.[0]["Execution Time"]'
}
for spec in "job_progress (status: load_job)|select * from job_progress where job_id = :'job'" \
            "job_group_counts (status: question_groups)|select * from job_group_counts where job_id = :'job' and dimension = 'question' order by ord, group_id" \
            "question_progress (view over rows)|select * from question_progress where job_id = :'job'"; do
  label=${spec%%|*} sql=${spec#*|}
  vals=()
  for ((i = 0; i < 3; i++)); do vals+=("$(exec_ms "$sql")"); done
  printf '%-46s %s\n' "server: $label" "$(stats_ms "${vals[@]}")"
done
jp "explain (analyze, buffers, costs off) select * from question_progress where job_id = :'job'" \
  >"$LOG_DIR/explain-question_progress.txt"
jp "explain (analyze, buffers, costs off) select * from job_progress where job_id = :'job'" \
  >"$LOG_DIR/explain-job_progress.txt"
echo "plans: $LOG_DIR/explain-*.txt"

say "export and report (once each; /usr/bin/time: wall seconds and peak RSS)"
timed_once() {
  local label=$1 out=$2; shift 2
  local t0 t1 rss
  t0=$(now_ns)
  timeout "$STEP_TIMEOUT" /usr/bin/time -f '%M' -o "$LOG_DIR/time.out" "$@" >"$out" 2>"$LOG_DIR/last.err" ||
    { cat "$LOG_DIR/last.err" >&2; die "$label failed"; }
  t1=$(now_ns)
  rss=$(tail -n 1 "$LOG_DIR/time.out")
  SECS=$(s_between "$t0" "$t1")
  printf '%-46s %8.2f s   peak RSS %6.1f MiB' "$label" "$SECS" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
}
timed_once "beacon-producer export JOB > /dev/null" /dev/null "$PRODUCER" export "$JOB"
printf '   %s rows/s\n' "$(rate 1000000 "$SECS")"
# shellcheck disable=SC2016
timed_once "beacon-producer export JOB | wc -l" "$LOG_DIR/export.count" bash -c '"$1" export "$2" | wc -l' _ "$PRODUCER" "$JOB"
printf '   %s lines\n' "$(tr -d ' ' <"$LOG_DIR/export.count")"
timed_once "beacon-producer report JOB" "$LOG_DIR/report.txt" "$PRODUCER" report "$JOB"
printf '   %s lines of output\n' "$(wc -l <"$LOG_DIR/report.txt")"

say "status JOB --by region (what the timed command prints)"
"$PRODUCER" status "$JOB" --by region

say "done (job $JOB); logs in $LOG_DIR"
