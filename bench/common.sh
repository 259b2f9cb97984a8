# shellcheck shell=bash disable=SC2034
# bench/common.sh — sourced by the bench scripts, not run on its own.
#
# Gives: ROOT, BUILD_DIR and the four binaries, private services started and
# stopped under .run/ (always, through the EXIT trap), background processes
# that are stopped in order on exit, and small timing/statistics helpers.
# Public tools only: bash, coreutils, awk, psql, curl, jq, /usr/bin/time.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# BEACON_BUILD_DIR: where the binaries are (default: build/ of this repository,
# i.e. ./build when run from the repository root). A relative value is taken
# from the directory the script was started in.
BUILD_DIR=${BEACON_BUILD_DIR:-$ROOT/build}
BUILD_DIR=$(cd "$BUILD_DIR" 2>/dev/null && pwd) || { echo "bench: build dir ${BEACON_BUILD_DIR:-$ROOT/build} not found" >&2; exit 1; }
SERVICES=$ROOT/scripts/services.sh
PRODUCER=$BUILD_DIR/beacon-producer
WORKER=$BUILD_DIR/beacon-worker
WRITER=$BUILD_DIR/beacon-progress-writer
SIM=$BUILD_DIR/beacon-infer-sim

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nbench: FAILED: %s\n' "$*" >&2; exit 1; }

need_bins() {
  local b
  for b in "$@"; do [[ -x "$b" ]] || die "$b not found (build it, or set BEACON_BUILD_DIR)"; done
}

# /usr/bin/time (Debian package `time`), psql, curl, jq: install what is missing
# (as root through apt-get, as scripts/deps.sh does), else say what to install.
need_tools() {
  local missing=() t
  for t in "$@"; do
    case $t in
      /usr/bin/time) [[ -x /usr/bin/time ]] || missing+=(time) ;;
      psql) command -v psql >/dev/null || missing+=(postgresql-client) ;;
      *) command -v "$t" >/dev/null || missing+=("$t") ;;
    esac
  done
  ((${#missing[@]})) || return 0
  apt_install "${missing[@]}"
}

# Installs Debian packages as root through apt-get, else says what to install.
apt_install() {
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "bench: installing $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
      { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; } ||
      die "could not install $*"
  else
    die "missing: $* (apt-get install $*)"
  fi
}

# ------------------------------------------------------------ timing helpers
now_ns() { date +%s%N; }
# ms between two now_ns values, one decimal
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
s_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
# a / b with 0 decimals (rates)
rate() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f", a / b; else print "n/a" }'; }

# "min X  median Y  max Z ms (n=N)" of the numbers given as arguments.
stats_ms() {
  printf '%s\n' "$@" | sort -g | awk '
    { v[NR] = $1 }
    END {
      if (NR == 0) { print "no samples"; exit }
      med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "min %8.1f   median %8.1f   max %8.1f ms   (n=%d)\n", v[1], med, v[NR], NR
    }'
}

# Runs "$@" RUNS times (stdout to /dev/null, stderr kept in $LOG_DIR/last.err),
# prints LABEL and the statistics; fails if any run fails.
time_runs() {
  local label=$1 runs=$2; shift 2
  local i t0 t1 samples=()
  for ((i = 0; i < runs; i++)); do
    t0=$(now_ns)
    "$@" >/dev/null 2>"$LOG_DIR/last.err" || { cat "$LOG_DIR/last.err" >&2; die "$label: '$*' failed"; }
    t1=$(now_ns)
    samples+=("$(ms_between "$t0" "$t1")")
  done
  printf '%-46s %s' "$label" "$(stats_ms "${samples[@]}")"
  echo
}

# ------------------------------------------------------------ services
SERVICES_DIR=""
services_started=0
start_services() {
  SERVICES_DIR=$1
  # A fresh database every run (a previous run may have been interrupted).
  [[ -d "$SERVICES_DIR" ]] && "$SERVICES" clean "$SERVICES_DIR" >"$LOG_DIR/services-clean.log" 2>&1
  mkdir -p "$SERVICES_DIR"
  services_started=1
  "$SERVICES" start "$SERVICES_DIR" >"$LOG_DIR/services-start.log" 2>&1 ||
    { cat "$LOG_DIR/services-start.log" >&2; die "services did not start"; }
  # shellcheck disable=SC1091
  source "$SERVICES_DIR/env.sh"
  export BEACON_AMQP_URL BEACON_DATABASE_URL
}

# ------------------------------------------------------------ background processes
# Parallel arrays: pid, name, log. Stopped workers first, then writers, then the rest.
PIDS=() NAMES=() LOGS=()
start_bg() {
  local name=$1; shift
  local log=$LOG_DIR/$name.log
  "$@" >"$log" 2>&1 </dev/null &
  PIDS+=("$!") NAMES+=("$name") LOGS+=("$log")
}

pid_of() {
  local i
  for i in "${!NAMES[@]}"; do [[ ${NAMES[$i]} == "$1" ]] && { echo "${PIDS[$i]}"; return 0; }; done
  return 1
}

check_alive() {
  local i
  for i in "${!PIDS[@]}"; do
    [[ -n ${PIDS[$i]} ]] || continue
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      echo "----- last lines of ${LOGS[$i]}" >&2; tail -n 20 "${LOGS[$i]}" >&2 || true
      die "${NAMES[$i]} exited unexpectedly"
    fi
  done
}

# SIGTERM the named processes, wait up to 90 s (more than a worker's default
# 60 s drain), then SIGKILL. Without names: every process, in the order that
# lets the parts drain — workers first (their in-flight calls still need the
# sim, their last events the broker), then writers, then the rest — each
# group stopped before the next gets its SIGTERM.
stop_bg() {
  local order=() i n deadline rc
  if ((!$#)); then
    local workers=() writers=() rest=()
    for i in "${!NAMES[@]}"; do
      [[ -n ${PIDS[$i]} ]] || continue
      case ${NAMES[$i]} in
        worker-*) workers+=("${NAMES[$i]}") ;;
        writer*) writers+=("${NAMES[$i]}") ;;
        *) rest+=("${NAMES[$i]}") ;;
      esac
    done
    ((${#workers[@]})) && stop_bg "${workers[@]}"
    ((${#writers[@]})) && stop_bg "${writers[@]}"
    ((${#rest[@]})) && stop_bg "${rest[@]}"
    return 0
  fi
  for n in "$@"; do for i in "${!NAMES[@]}"; do [[ ${NAMES[$i]} == "$n" ]] && order+=("$i"); done; done
  for i in "${order[@]}"; do
    if [[ -n ${PIDS[$i]} ]]; then kill -TERM "${PIDS[$i]}" 2>/dev/null || true; fi
  done
  deadline=$(( $(date +%s) + 90 ))
  for i in "${order[@]}"; do
    [[ -n ${PIDS[$i]} ]] || continue
    while kill -0 "${PIDS[$i]}" 2>/dev/null && (( $(date +%s) < deadline )); do sleep 0.1; done
    if kill -0 "${PIDS[$i]}" 2>/dev/null; then
      echo "bench: ${NAMES[$i]} did not stop within 90 s of SIGTERM; killing" >&2
      kill -KILL "${PIDS[$i]}" 2>/dev/null || true
    fi
    rc=0; wait "${PIDS[$i]}" 2>/dev/null || rc=$?
    ((rc == 0)) || echo "bench: ${NAMES[$i]} exited with code $rc (log ${LOGS[$i]})" >&2
    PIDS[i]=""
  done
}

bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # shellcheck disable=SC2119
  stop_bg || true
  if ((services_started)); then
    "$SERVICES" stop "$SERVICES_DIR" >>"$LOG_DIR/services-stop.log" 2>&1 ||
      echo "bench: stopping services failed (see $LOG_DIR/services-stop.log)" >&2
    # The data (about 1 GB for the 1M-row job) is deleted unless asked to keep it.
    if [[ ${BENCH_KEEP_DATA:-0} != 1 ]]; then
      "$SERVICES" clean "$SERVICES_DIR" >>"$LOG_DIR/services-stop.log" 2>&1 || true
    fi
  fi
  ((rc == 0)) || echo "bench: exit code $rc; logs in $LOG_DIR" >&2
  exit "$rc"
}

# Call once, after setting LOG_DIR.
install_cleanup() {
  mkdir -p "$LOG_DIR"
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Waits (30 s) until NAME listens on 127.0.0.1:PORT; (60 s) until NAME at ADDR says /readyz.
wait_tcp() {
  local name=$1 port=$2 deadline=$(( $(date +%s) + 30 ))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    check_alive
    (( $(date +%s) < deadline )) || die "$name did not listen on 127.0.0.1:$port within 30 s"
    sleep 0.1
  done
}
wait_ready() {
  local name=$1 addr=$2 deadline=$(( $(date +%s) + 60 ))
  until curl -fsS -o /dev/null --max-time 2 "http://$addr/readyz" 2>/dev/null; do
    check_alive
    (( $(date +%s) < deadline )) || die "$name not ready within 60 s (http://$addr/readyz)"
    sleep 0.2
  done
}

# psql against the private database; extra args go to psql (-v job=...).
pg() { psql -X -q -v ON_ERROR_STOP=1 "$@" "$BEACON_DATABASE_URL"; }

machine_line() {
  local cpu
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  printf '%s, %s cores, %s GiB RAM, load avg %s, %s\n' "${cpu:-unknown cpu}" "$(nproc)" \
    "$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}

# scripts/services.sh runs its Postgres with fsync, synchronous_commit and
# full_page_writes off (fast tests). Figures are taken with all three on, as in
# production, unless BENCH_PG_DURABLE=0; prints the settings either way.
pg_settings_for_bench() {
  if [[ ${BENCH_PG_DURABLE:-1} == 1 ]]; then
    pg -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" \
       -c "ALTER SYSTEM SET full_page_writes = on" -c "SELECT pg_reload_conf()" >/dev/null
  fi
  # BENCH_PG_SHARED_BUFFERS (e.g. 2GB; default the services' 128MB) needs a restart.
  if [[ -n ${BENCH_PG_SHARED_BUFFERS:-} ]]; then
    pg -v v="$BENCH_PG_SHARED_BUFFERS" <<<"ALTER SYSTEM SET shared_buffers = :'v'" >/dev/null
    "$SERVICES" restart-postgres "$SERVICES_DIR" >"$LOG_DIR/pg-restart.log" 2>&1 ||
      { cat "$LOG_DIR/pg-restart.log" >&2; die "restarting Postgres for shared_buffers failed"; }
  fi
  echo "postgres: $(pg -At -c "select string_agg(name || '=' || setting, ' ' order by name) from pg_settings
    where name in ('fsync','synchronous_commit','full_page_writes','shared_buffers','work_mem','wal_level','max_wal_size')")"
}

CLK_TCK=$(getconf CLK_TCK)
# "peak_rss_MiB rss_MiB cpu_s" of a live process
proc_figures() {
  local pid=$1 hwm rss cpu
  hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
  # utime + stime are fields 14 and 15 of /proc/PID/stat (after the "(comm)" field)
  cpu=$(sed 's/^.*) //' "/proc/$pid/stat" | awk -v t="$CLK_TCK" '{ printf "%.1f", ($12 + $13) / t }')
  awk -v h="$hwm" -v r="$rss" -v c="$cpu" 'BEGIN { printf "%.1f %.1f %s", h / 1024, r / 1024, c }'
}
# Seconds between two cpu_ticks_tree readings, one decimal.
ticks_between_s() { awk -v a="$1" -v b="$2" -v t="$CLK_TCK" 'BEGIN { printf "%.1f", (b - a) / t }'; }

# CPU ticks (user + system) of a process and of its children, live and reaped:
# for Postgres the postmaster's tree (backends), for RabbitMQ the beam process.
cpu_ticks_tree() {
  local root=$1 c total=0 f
  [[ -r /proc/$root/stat ]] || { echo 0; return; }
  read -r -a f <<<"$(sed 's/^.*) //' "/proc/$root/stat")"
  total=$(( f[11] + f[12] + f[13] + f[14] ))
  for c in $(ps --ppid "$root" -o pid= 2>/dev/null); do
    [[ -r /proc/$c/stat ]] || continue
    read -r -a f <<<"$(sed 's/^.*) //' "/proc/$c/stat" 2>/dev/null)" || continue
    total=$(( total + f[11] + f[12] ))
  done
  echo "$total"
}
service_pid() {   # rabbitmq | postgres: the pid `services.sh status` reports
  "$SERVICES" status "$SERVICES_DIR" 2>/dev/null | sed -n "s/^services: $1: running (pid \([0-9]*\).*/\1/p"
}
