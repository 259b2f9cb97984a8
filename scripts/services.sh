#!/usr/bin/env bash
# Private RabbitMQ + PostgreSQL instances on loopback, for beacon tests and demos.
#
# Usage:
#   scripts/services.sh start            [DIR]   start both (no-op if already running)
#   scripts/services.sh stop             [DIR]   stop both, kill leftovers (safe if nothing runs)
#   scripts/services.sh restart-rabbitmq [DIR]   stop + start the broker, same data and ports
#   scripts/services.sh restart-postgres [DIR]   stop + start the database, same data and port
#   scripts/services.sh status           [DIR]   print state; exit 0 only if both run
#   scripts/services.sh clean            [DIR]   stop, then delete DIR and all its data
#   scripts/services.sh free-port        [N]     print N (default 1) free loopback ports
#   scripts/services.sh kill-node K      [DIR]   SIGKILL RabbitMQ node K (1..N) of a cluster
#   scripts/services.sh start-node K     [DIR]   start node K again (same data, ports, cluster)
#
# BEACON_RABBITMQ_NODES=N (N >= 2) at the first start makes the broker an
# N-node RabbitMQ cluster on loopback (scripts/lib/rabbitmq-cluster.sh);
# env.sh then lists every node in BEACON_AMQP_URL, comma-separated.
#
# DIR defaults to .run/services in the repository (git-ignored). Everything
# lives under DIR: data, logs, pid files, sockets. (Only if the server users
# `rabbitmq`/`postgres` cannot reach DIR, or DIR is too long for a unix socket
# path, the data goes to a /tmp/beacon-svc.* folder recorded in DIR/state.env.)
#
# Each start picks free loopback ports (asking the kernel), so it works next to
# system services on 5672/5432/4369 and next to other private instances. The
# ports are kept across restart-* and reused by a later start if still free.
#
# After start, `source DIR/env.sh` gives:
#   BEACON_AMQP_URL       amqp://guest:guest@127.0.0.1:PORT   (guest works on loopback only)
#   BEACON_DATABASE_URL   postgresql://beacon:beacon@127.0.0.1:PORT/beacon
#   BEACON_SERVICES_DIR   DIR
#   BEACON_RABBITMQCTL    DIR/bin/rabbitmqctl (wrapper with the right node, epmd port and cookie;
#                         DIR/bin also has rabbitmq-diagnostics and rabbitmq-queues)
#   RABBITMQ_NODENAME, RABBITMQ_NODE_PORT, RABBITMQ_DIST_PORT, ERL_EPMD_PORT
#   BEACON_AMQPS_URL      amqps://guest:guest@localhost:PORT (the same node's TLS listener)
#   BEACON_AMQP_CA_FILE   the throw-away CA that signed its certificate (DNS:localhost only)
#   In a cluster also BEACON_RABBITMQ_NODES=N and, per node K, BEACON_AMQP_URL_K,
#   BEACON_RABBITMQ_NODE_K (node name) and BEACON_RABBITMQCTL_K.
#
# PostgreSQL: database `beacon`, owned by role `beacon` (password `beacon`,
# superuser: this is a throw-away private instance). Authentication is `trust`
# for loopback and the unix socket, so the password is not checked. The cluster
# runs with fsync=off, synchronous_commit=off, full_page_writes=off (fast, NOT
# crash safe against OS crashes; fine for tests) and max_connections=200.
#
# RabbitMQ: node beacon-<port>@localhost with its own epmd on a private port,
# no plugins, AMQP bound to 127.0.0.1, disk_free_limit 1MB so the disk alarm
# does not trip on a busy machine.
#
# Run as root (servers drop to the rabbitmq/postgres users) or as a normal user
# (servers run as that user).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
PG_BIN=${BEACON_PG_BIN:-/usr/lib/postgresql/15/bin}
RMQ_BIN=${BEACON_RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}
TIMEOUT=${BEACON_SERVICES_TIMEOUT:-120}  # seconds to wait for each server to become ready
PG_USER_NAME=beacon
PG_PASSWORD=beacon
PG_DB=beacon
# Debian's python3 (the ports helper needs nothing else); avoids slow pyenv shims.
PY=/usr/bin/python3
[[ -x "$PY" ]] || PY=python3

# Launcher for the servers: closes every inherited fd above 2 (a caller's pipes,
# sockets or lock files must not be held open by a daemon, or e.g. ctest would
# wait for them), writes its pid to the file named by $0 (unless "-"), then
# execs the command, so the pid file names the real process.
# shellcheck disable=SC2016
LAUNCH='for fd in /proc/$$/fd/*; do fd=${fd##*/}; if ((fd > 2)); then eval "exec $fd>&-"; fi; done
[[ $0 == - ]] || echo $$ >"$0"; exec "$@"'

log() { printf 'services: %s\n' "$*"; }
err() { printf 'services: ERROR: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

CMD=${1:-}
case "$CMD" in
  start|stop|restart-rabbitmq|restart-postgres|status|clean|free-port|kill-node|start-node) ;;
  *) usage ;;
esac
if [[ "$CMD" != free-port ]]; then
  if [[ "$CMD" == kill-node || "$CMD" == start-node ]]; then
    NODE_ARG=${2:-}
    [[ "$NODE_ARG" =~ ^[1-9][0-9]*$ ]] || usage
    shift
  fi
  DIR=${2:-$REPO_ROOT/.run/services}
  if [[ ! -d "$DIR" ]]; then
    case "$CMD" in
      stop|clean) echo "services: nothing in $DIR"; exit 0 ;;
      status) echo "services: nothing in $DIR"; exit 1 ;;
      restart-*) echo "services: ERROR: no services in $DIR; run: $0 start '$DIR'" >&2; exit 1 ;;
    esac
    mkdir -p "$DIR"
  fi
  DIR=$(cd "$DIR" && pwd)
  chmod 755 "$DIR"
else
  DIR=""
fi

# ---------------------------------------------------------------- users
if ((EUID == 0)); then
  RMQ_USER=rabbitmq
  PG_USER=postgres
else
  RMQ_USER=$(id -un)
  PG_USER=$(id -un)
fi

# Run a command as USER with the environment given (no fork: setpriv execs).
as_user() {
  local user=$1; shift
  if ((EUID == 0)) && [[ "$user" != root ]]; then
    setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"
  else
    "$@"
  fi
}

# ---------------------------------------------------------------- helpers
now_ms() { date +%s%3N; }

# True if the process exists and is not a zombie (an exited child that its
# parent, often init, has not reaped yet).
pid_alive() {
  [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat%% *}" != Z ]]
}

read_pid() { [[ -s "$1" ]] && head -n1 "$1" | tr -dc '0-9' || true; }

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Print N distinct free loopback ports (kernel-chosen), excluding the ranges used
# by RabbitMQ CLI tools (35672-35682) and the well-known defaults.
pick_ports() {
  "$PY" - "$1" <<'PY'
import socket, sys
n = int(sys.argv[1])
def free(p):
    for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET, "127.0.0.1")):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((addr, p))
        except OSError:
            return False
        finally:
            s.close()
    return True
for attempt in range(50):
    held, ports = [], []
    while len(ports) < n:
        s = socket.socket(); s.bind(("127.0.0.1", 0)); held.append(s)
        p = s.getsockname()[1]
        if 35600 <= p <= 35700 or p in ports:
            continue
        ports.append(p)
    for s in held:
        s.close()
    if all(free(p) for p in ports):
        print(" ".join(map(str, ports)))
        sys.exit(0)
sys.exit("could not find free ports")
PY
}

ports_free() {
  "$PY" - "$@" <<'PY'
import socket, sys
for p in map(int, sys.argv[1:]):
    for addr in ("0.0.0.0", "127.0.0.1"):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((addr, p))
        except OSError:
            sys.exit(1)
        finally:
            s.close()
PY
}

# Wait (bounded) until the given ports can be bound again (after a stop).
wait_ports_free() {
  local deadline=$(( $(date +%s) + 15 ))
  until ports_free "$@"; do
    (( $(date +%s) < deadline )) || return 1
    sleep 0.2
  done
}

# Kill every process whose environment carries BEACON_SVC_TAG=$1 (i.e. that we
# started for this instance), never anything else.
# PIDs of processes whose environment carries BEACON_SVC_TAG=$1, i.e. that we
# started for this instance (never anything else).
tagged_pids() {
  "$PY" - "BEACON_SVC_TAG=$1" "$$" <<'PY'
import os, sys
tag = sys.argv[1].encode()
skip = {sys.argv[2], str(os.getpid()), str(os.getppid())}
for p in os.listdir("/proc"):
    if not p.isdigit() or p in skip:
        continue
    try:
        with open(f"/proc/{p}/environ", "rb") as f:
            if tag in f.read().split(b"\0"):
                print(p)
    except OSError:
        pass
PY
}

# Send signal $2 to the tagged processes of $1; returns 1 if there were none.
kill_tagged() {
  local pids
  pids=$(tagged_pids "$1")
  [[ -n "$pids" ]] || return 1
  # shellcheck disable=SC2086
  kill "-${2:-TERM}" $pids 2>/dev/null || true
  return 0
}

sweep_tagged() {
  local tag=$1 i
  kill_tagged "$tag" TERM || return 0
  for i in $(seq 1 50); do
    sleep 0.1
    kill_tagged "$tag" 0 || return 0
  done
  kill_tagged "$tag" KILL || true
  sleep 0.2
}

# Wait (bounded) until a pid file written by our launcher is there; print the pid.
wait_pidfile() {
  local f=$1 i pid
  for ((i = 0; i < 100; i++)); do
    pid=$(read_pid "$f")
    if [[ -n "$pid" ]]; then echo "$pid"; return 0; fi
    sleep 0.05
  done
  return 1
}

# Wait until pid exits; returns 1 on timeout.
wait_exit() {
  local pid=$1 secs=$2 i
  for ((i = 0; i < secs * 10; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  ! pid_alive "$pid"
}

# ---------------------------------------------------------------- state
STATE=$DIR/state.env
DATA=""
RMQ_NODE="" AMQP_PORT="" DIST_PORT="" EPMD_PORT="" PG_PORT="" AMQPS_PORT="" RMQ_NODES=1

load_state() {
  if [[ -f "$STATE" ]]; then
    # shellcheck disable=SC1090
    source "$STATE"
  fi
}

save_state() {
  cat >"$STATE.tmp" <<EOF
# written by scripts/services.sh; do not edit
DATA='$DATA'
RMQ_NODE='$RMQ_NODE'
AMQP_PORT='$AMQP_PORT'
DIST_PORT='$DIST_PORT'
EPMD_PORT='$EPMD_PORT'
PG_PORT='$PG_PORT'
AMQPS_PORT='$AMQPS_PORT'
RMQ_NODES='$RMQ_NODES'
EOF
  mv "$STATE.tmp" "$STATE"
}

# Decide where server data lives: DIR itself when the server users can reach it
# and the socket path fits, else a private /tmp folder.
ensure_data_root() {
  [[ -n "$DATA" && -d "$DATA" ]] && return 0
  local ok=1 u
  for u in "$RMQ_USER" "$PG_USER"; do
    as_user "$u" test -x "$DIR" 2>/dev/null || ok=0
  done
  # unix socket paths are limited to 107 bytes: DIR/pg/sock/.s.PGSQL.NNNNN
  if (( ${#DIR} + 23 > 100 )); then ok=0; fi
  if ((ok)); then
    DATA=$DIR
  else
    DATA=$(mktemp -d /tmp/beacon-svc.XXXXXX)
    chmod 755 "$DATA"
    log "data folder: $DATA (DIR not reachable by server users or path too long)"
  fi
}

# The node being worked on: node 1 has no suffix (the single-node layout);
# cluster node K uses rabbitmq-K, bin/node-K and tag rabbitmq-K.
RMQ_SUFFIX="" RMQ_BIN_SUB="" RMQ_SHARED_EPMD=""
R() { printf '%s/rabbitmq%s' "$DATA" "$RMQ_SUFFIX"; }
P() { printf '%s/pg' "$DATA"; }

# ---------------------------------------------------------------- rabbitmq
rmq_env() {
  local r; r=$(R)
  printf '%s\n' \
    "HOME=$r/home" \
    "LANG=C.UTF-8" "LC_ALL=C.UTF-8" \
    "RABBITMQ_NODENAME=$RMQ_NODE" \
    "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1" \
    "RABBITMQ_NODE_PORT=$AMQP_PORT" \
    "RABBITMQ_DIST_PORT=$DIST_PORT" \
    "ERL_EPMD_PORT=$EPMD_PORT" \
    "ERL_EPMD_ADDRESS=127.0.0.1" \
    "RABBITMQ_CONF_ENV_FILE=$r/rabbitmq-env.conf" \
    "RABBITMQ_CONFIG_FILE=$r/rabbitmq.conf" \
    "RABBITMQ_ADVANCED_CONFIG_FILE=$r/advanced.config" \
    "RABBITMQ_MNESIA_BASE=$r/mnesia" \
    "RABBITMQ_LOG_BASE=$r/log" \
    "RABBITMQ_PID_FILE=$r/rabbit.pid" \
    "RABBITMQ_FEATURE_FLAGS_FILE=$r/feature_flags" \
    "RABBITMQ_ENABLED_PLUGINS_FILE=$r/enabled_plugins" \
    "RABBITMQ_PLUGINS_EXPAND_DIR=$r/plugins-expand" \
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
}

rmq_beam_pid() { read_pid "$(R)/rabbit.pid"; }
rmq_epmd_pid() { read_pid "$(R)/epmd.pid"; }
rmq_running() { [[ -n "$DATA" ]] && pid_alive "$(rmq_beam_pid)"; }

rmq_init() {
  local r; r=$(R)
  mkdir -p "$r/home" "$r/mnesia" "$r/log"
  [[ -f "$r/enabled_plugins" ]] || echo '[].' >"$r/enabled_plugins"
  : >"$r/rabbitmq-env.conf"
  cat >"$r/rabbitmq.conf" <<'EOF'
# private beacon test broker (scripts/services.sh)
loopback_users.guest = true
disk_free_limit.absolute = 1MB
vm_memory_high_watermark.relative = 0.6
log.console = false
log.file.level = info
EOF
  if [[ -n "$AMQPS_PORT" ]]; then
    rmq_tls_files "$r/tls"
    cat >>"$r/rabbitmq.conf" <<EOF
listeners.ssl.1 = 127.0.0.1:$AMQPS_PORT
ssl_options.cacertfile = $r/tls/ca.pem
ssl_options.certfile = $r/tls/server.pem
ssl_options.keyfile = $r/tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
EOF
  fi
  if [[ ! -s "$r/home/.erlang.cookie" ]]; then
    # Reuse the system cookie when there is one, so the packaged
    # /usr/sbin/rabbitmqctl (which runs with HOME=/var/lib/rabbitmq) also works
    # with RABBITMQ_NODENAME and ERL_EPMD_PORT from env.sh.
    if [[ -r /var/lib/rabbitmq/.erlang.cookie ]]; then
      cp /var/lib/rabbitmq/.erlang.cookie "$r/home/.erlang.cookie"
    else
      "$PY" -c 'import secrets,string;print("".join(secrets.choice(string.ascii_uppercase) for _ in range(20)),end="")' \
        >"$r/home/.erlang.cookie"
    fi
    chmod 400 "$r/home/.erlang.cookie"
  fi
  if ((EUID == 0)); then chown -R "$RMQ_USER:" "$r"; fi
  chmod 700 "$r"
  # CLI wrappers that talk to this node.
  mkdir -p "$DIR/bin$RMQ_BIN_SUB"
  local tool envs
  envs=$(rmq_env | sed "s/'/'\\\\''/g; s/^/  '/; s/\$/' \\\\/")
  for tool in rabbitmqctl rabbitmq-diagnostics rabbitmq-queues; do
    {
      echo '#!/bin/sh'
      echo "# generated by scripts/services.sh: $tool for the private node $RMQ_NODE"
      if ((EUID == 0)); then
        echo "exec setpriv --reuid=$RMQ_USER --regid=$(id -g "$RMQ_USER") --init-groups -- env \\"
      else
        echo "exec env \\"
      fi
      echo "$envs"
      echo "  $RMQ_BIN/$tool -n '$RMQ_NODE' \"\$@\""
    } >"$DIR/bin$RMQ_BIN_SUB/$tool"
    chmod 755 "$DIR/bin$RMQ_BIN_SUB/$tool"
  done
}

# A throw-away CA and a server certificate for DNS:localhost (made once per
# data folder), for the amqps:// tests. Only the name localhost: a client
# that connects to 127.0.0.1 must fail host-name verification.
rmq_tls_files() {
  local t=$1
  [[ -s "$t/server.pem" ]] && return 0
  mkdir -p "$t"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=beacon test CA" \
    -keyout "$t/ca.key" -out "$t/ca.pem" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$t/server.key" -out "$t/server.csr" \
    >/dev/null 2>&1
  printf 'subjectAltName=DNS:localhost\n' >"$t/ext.cnf"
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 3650 \
    -extfile "$t/ext.cnf" -out "$t/server.pem" >/dev/null 2>&1
  chmod 644 "$t/ca.pem" "$t/server.pem" "$t/server.key"
}

rmq_log_tail() {
  local r f; r=$(R)
  for f in "$r/server.out" "$r/log/$RMQ_NODE.log" "$r/log/epmd.log"; do
    [[ -s "$f" ]] || continue
    echo "----- tail of $f" >&2
    tail -n 30 "$f" >&2
  done
}

rmq_start() {
  local r t0 deadline epmd launcher envs=()
  r=$(R)
  if rmq_running; then
    log "rabbitmq already running (pid $(rmq_beam_pid))"
    return 0
  fi
  rmq_kill_leftovers
  rmq_init
  mapfile -t envs < <(rmq_env)
  t0=$(now_ms)
  rm -f "$r/rabbit.pid" "$r/epmd.pid" "$r/launcher.pid"
  # Our own epmd on a private port (so we never touch one on 4369); a
  # cluster's nodes share one, started by rabbitmq-cluster.sh.
  if [[ -z "$RMQ_SHARED_EPMD" ]]; then
    setsid bash -c "$LAUNCH" "$r/epmd.pid" \
      env BEACON_SVC_TAG="$DIR:rabbitmq" "${envs[@]}" \
      "${AS_RMQ[@]}" epmd -port "$EPMD_PORT" -address 127.0.0.1 \
      >>"$r/log/epmd.log" 2>&1 </dev/null 9>&- &
    epmd=$(wait_pidfile "$r/epmd.pid") || { err "epmd launcher did not start"; return 1; }
    deadline=$(( $(date +%s) + 10 ))
    until tcp_open "$EPMD_PORT"; do
      if (( $(date +%s) > deadline )) || ! pid_alive "$epmd"; then
        err "epmd did not start on port $EPMD_PORT"; rmq_log_tail; return 1
      fi
      sleep 0.05
    done
  fi
  setsid bash -c "$LAUNCH" "$r/launcher.pid" \
    env BEACON_SVC_TAG="$DIR:rabbitmq$RMQ_SUFFIX" "${envs[@]}" \
    "${AS_RMQ[@]}" "$RMQ_BIN/rabbitmq-server" \
    >>"$r/server.out" 2>&1 </dev/null 9>&- &
  launcher=$(wait_pidfile "$r/launcher.pid") || { err "rabbitmq launcher did not start"; return 1; }
  deadline=$(( $(date +%s) + TIMEOUT ))
  until tcp_open "$AMQP_PORT"; do
    if ! pid_alive "$launcher" && ! pid_alive "$(rmq_beam_pid)"; then
      sleep 0.3
      err "rabbitmq-server exited during startup"; rmq_log_tail; return 1
    fi
    if (( $(date +%s) > deadline )); then
      err "rabbitmq did not open AMQP port $AMQP_PORT within ${TIMEOUT}s"; rmq_log_tail; return 1
    fi
    sleep 0.1
  done
  if ! "$DIR/bin$RMQ_BIN_SUB/rabbitmqctl" await_startup --timeout "$TIMEOUT" >"$r/await.out" 2>&1; then
    err "rabbitmqctl await_startup failed:"; cat "$r/await.out" >&2; rmq_log_tail; return 1
  fi
  log "rabbitmq ready on 127.0.0.1:$AMQP_PORT (node $RMQ_NODE, pid $(rmq_beam_pid)) in $(( $(now_ms) - t0 )) ms"
}

rmq_kill_leftovers() {
  [[ -n "$DATA" ]] || return 0
  local pid pids=()
  local epmd=""
  [[ -n "$RMQ_SHARED_EPMD" ]] || epmd=$(rmq_epmd_pid)
  for pid in "$(read_pid "$(R)/launcher.pid")" "$epmd"; do
    if pid_alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); fi
  done
  for pid in "${pids[@]}"; do wait_exit "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true; done
  sweep_tagged "$DIR:rabbitmq$RMQ_SUFFIX"
}

rmq_stop() {
  [[ -n "$DATA" && -d "$(R)" ]] || return 0
  local beam t0
  t0=$(now_ms)
  beam=$(rmq_beam_pid)
  if pid_alive "$beam"; then
    # SIGTERM makes the node shut down gracefully (same as `rabbitmqctl stop`):
    # queues are closed and durable messages flushed.
    kill -TERM "$beam" 2>/dev/null || true
    if ! wait_exit "$beam" 30; then
      err "rabbitmq (pid $beam) did not stop in 30s; killing"
      kill -KILL "$beam" 2>/dev/null || true
      wait_exit "$beam" 5 || true
    fi
    log "rabbitmq stopped in $(( $(now_ms) - t0 )) ms"
  fi
  rmq_kill_leftovers
  rm -f "$(R)/rabbit.pid" "$(R)/epmd.pid" "$(R)/launcher.pid"
}

# ---------------------------------------------------------------- postgres
pg_pid() { read_pid "$(P)/data/postmaster.pid"; }
pg_running() { [[ -n "$DATA" ]] && pid_alive "$(pg_pid)"; }
pg_sock() { printf '%s/sock' "$(P)"; }

pg_log_tail() {
  local f; f="$(P)/postgres.log"
  [[ -s "$f" ]] || return 0
  echo "----- tail of $f" >&2
  tail -n 30 "$f" >&2
}

pg_init() {
  local p; p=$(P)
  mkdir -p "$p" "$p/sock"
  if ((EUID == 0)); then chown "$PG_USER:" "$p" "$p/sock"; fi
  chmod 700 "$p"; chmod 755 "$p/sock"
  if [[ ! -f "$p/data/PG_VERSION" ]]; then
    rm -rf "$p/data"
    if ! as_user "$PG_USER" env LANG=C LC_ALL=C "$PG_BIN/initdb" -D "$p/data" -U postgres \
         --auth=trust -E UTF8 --no-locale --no-sync >"$p/initdb.log" 2>&1 9>&-; then
      err "initdb failed:"; tail -n 30 "$p/initdb.log" >&2; return 1
    fi
    as_user "$PG_USER" sh -c 'cat >>"$1"' sh "$p/data/postgresql.conf" <<'EOF'

# ---- beacon private test instance (scripts/services.sh)
listen_addresses = '127.0.0.1'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
include_if_exists = 'beacon-runtime.conf'
EOF
  fi
  # Per-start settings (port, socket dir), rewritten each start.
  printf "port = %s\nunix_socket_directories = '%s'\n" "$PG_PORT" "$(pg_sock)" |
    as_user "$PG_USER" sh -c 'cat >"$1"' sh "$p/data/beacon-runtime.conf"
}

pg_start() {
  local p t0
  p=$(P)
  if pg_running; then
    log "postgres already running (pid $(pg_pid))"
    return 0
  fi
  pg_kill_leftovers
  pg_init
  t0=$(now_ms)
  if ! setsid -w bash -c "$LAUNCH" - env BEACON_SVC_TAG="$DIR:postgres" LANG=C LC_ALL=C \
       "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$p/data" -l "$p/postgres.log" -w -t "$TIMEOUT" start \
       >"$p/pg_ctl.out" 2>&1 </dev/null 9>&-; then
    err "postgres failed to start:"; cat "$p/pg_ctl.out" >&2; pg_log_tail; return 1
  fi
  local psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_sock)" -p "$PG_PORT" -U postgres)
  if [[ "$("${psql[@]}" -d postgres -tAc "select 1 from pg_database where datname='$PG_DB'")" != 1 ]]; then
    "${psql[@]}" -d postgres -c "create role $PG_USER_NAME login superuser password '$PG_PASSWORD'" >/dev/null 2>&1 || true
    "${psql[@]}" -d postgres -c "create database $PG_DB owner $PG_USER_NAME" >/dev/null ||
      { err "could not create database $PG_DB"; return 1; }
  fi
  log "postgres ready on 127.0.0.1:$PG_PORT (pid $(pg_pid)) in $(( $(now_ms) - t0 )) ms"
}

pg_kill_leftovers() {
  [[ -n "$DATA" ]] || return 0
  sweep_tagged "$DIR:postgres"
}

pg_stop() {
  [[ -n "$DATA" && -d "$(P)/data" ]] || return 0
  local pid t0
  t0=$(now_ms)
  pid=$(pg_pid)
  if pid_alive "$pid"; then
    if ! as_user "$PG_USER" "$PG_BIN/pg_ctl" -D "$(P)/data" -m fast -w -t 30 stop >/dev/null 2>&1 9>&-; then
      err "pg_ctl stop failed; killing postmaster $pid"
      kill -QUIT "$pid" 2>/dev/null || true
      wait_exit "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
    fi
    log "postgres stopped in $(( $(now_ms) - t0 )) ms"
  fi
  pg_kill_leftovers
}

# ---------------------------------------------------------------- env file
write_env() {
  local amqp="amqp://guest:guest@127.0.0.1:$AMQP_PORT"
  local db="postgresql://$PG_USER_NAME:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
  cat >"$DIR/env.sh.tmp" <<EOF
# generated by scripts/services.sh start; usage: source '$DIR/env.sh'
export BEACON_SERVICES_DIR='$DIR'
export BEACON_AMQP_URL='$amqp'
export BEACON_DATABASE_URL='$db'
export BEACON_AMQP_PORT='$AMQP_PORT'
export BEACON_PG_PORT='$PG_PORT'
export BEACON_PG_SOCKET_DIR='$(pg_sock)'
export BEACON_RABBITMQCTL='$DIR/bin/rabbitmqctl'
export RABBITMQ_NODENAME='$RMQ_NODE'
export RABBITMQ_NODE_PORT='$AMQP_PORT'
export RABBITMQ_DIST_PORT='$DIST_PORT'
export ERL_EPMD_PORT='$EPMD_PORT'
export BEACON_AMQPS_URL='amqps://guest:guest@localhost:$AMQPS_PORT'
export BEACON_AMQP_CA_FILE='$(R)/tls/ca.pem'
EOF
  if ((RMQ_NODES > 1)); then cluster_write_env >>"$DIR/env.sh.tmp"; amqp=$(cluster_urls); fi
  mv "$DIR/env.sh.tmp" "$DIR/env.sh"
  echo "BEACON_AMQP_URL=$amqp"
  echo "BEACON_DATABASE_URL=$db"
}

# ---------------------------------------------------------------- commands
lock() {
  exec 9>"$DIR/.lock"
  flock -w 300 9 || die "could not lock $DIR/.lock"
}

AS_RMQ=() AS_PG=()
if ((EUID == 0)); then
  AS_RMQ=(setpriv --reuid="$RMQ_USER" --regid="$(id -g "$RMQ_USER")" --init-groups --)
  AS_PG=(setpriv --reuid="$PG_USER" --regid="$(id -g "$PG_USER")" --init-groups --)
fi

check_tools() {
  [[ -x "$RMQ_BIN/rabbitmq-server" ]] || die "rabbitmq-server not found in $RMQ_BIN (run scripts/deps.sh)"
  [[ -x "$PG_BIN/pg_ctl" ]] || die "PostgreSQL 15 not found in $PG_BIN (run scripts/deps.sh)"
  command -v epmd >/dev/null || die "epmd not found (install erlang-base / rabbitmq-server)"
  command -v "$PY" >/dev/null || die "python3 not found (run scripts/deps.sh)"
}

# Choose ports for the services that are not running: reuse recorded ones if
# still free, else ask the kernel for new ones.
choose_ports() {
  if ! rmq_running; then
    if [[ -z "$AMQP_PORT" || -z "$DIST_PORT" || -z "$EPMD_PORT" || -z "$AMQPS_PORT" ]] ||
       ! ports_free "$AMQP_PORT" "$DIST_PORT" "$EPMD_PORT" "$AMQPS_PORT"; then
      read -r AMQP_PORT DIST_PORT EPMD_PORT AMQPS_PORT < <(pick_ports 4) || die "no free ports"
    fi
    # The node name only has to be unique within its own epmd; keep it stable
    # so the mnesia folder (named after the node) and durable data survive.
    [[ -n "$RMQ_NODE" ]] || RMQ_NODE="beacon-$AMQP_PORT@localhost"
  fi
  if ! pg_running; then
    if [[ -z "$PG_PORT" ]] || ! ports_free "$PG_PORT"; then
      read -r PG_PORT < <(pick_ports 1) || die "no free ports"
    fi
  fi
  # Both services must not share a port (possible when one of them was picked
  # earlier and the other now).
  if [[ "$PG_PORT" == "$AMQP_PORT" || "$PG_PORT" == "$DIST_PORT" || "$PG_PORT" == "$EPMD_PORT" ||
        "$PG_PORT" == "$AMQPS_PORT" ]]; then
    pg_running && die "port clash between recorded rabbitmq and postgres ports; run: $0 clean '$DIR'"
    read -r PG_PORT < <(pick_ports 1)
  fi
}

cmd_start() {
  check_tools
  lock
  load_state
  ensure_data_root
  choose_ports
  save_state
  local t0; t0=$(now_ms)
  # Start both in parallel: postgres is ready long before rabbitmq.
  local pg_rc=0 rmq_rc=0
  pg_start >"$DIR/.pg_start.out" 2>&1 9>&- &
  local pg_job=$!
  if [[ -n "${BEACON_RABBITMQ_NODES:-}" && ! -d "$(R)/mnesia" ]]; then
    [[ "$BEACON_RABBITMQ_NODES" =~ ^[1-9]$ ]] || die "BEACON_RABBITMQ_NODES must be 1 to 9"
    RMQ_NODES=$BEACON_RABBITMQ_NODES
    save_state
  fi
  if ((RMQ_NODES > 1)); then cluster_start || rmq_rc=$?; else rmq_start || rmq_rc=$?; fi
  wait "$pg_job" || pg_rc=$?
  cat "$DIR/.pg_start.out"; rm -f "$DIR/.pg_start.out"
  if ((pg_rc || rmq_rc)); then
    err "start failed; stopping what was started"
    if ((RMQ_NODES > 1)); then cluster_stop || true; else rmq_stop || true; fi
    pg_stop || true
    exit 1
  fi
  write_env
  log "all services ready in $(( $(now_ms) - t0 )) ms; source $DIR/env.sh"
}

cmd_stop() {
  lock
  load_state
  [[ -n "$DATA" ]] || { log "nothing to stop in $DIR"; return 0; }
  if ((RMQ_NODES > 1)); then cluster_stop & else rmq_stop & fi
  local j=$!
  pg_stop
  wait "$j" || true
  if ((RMQ_NODES > 1)); then cluster_sweep; fi
  # Final safety net: anything still carrying one of our tags.
  sweep_tagged "$DIR:rabbitmq"
  sweep_tagged "$DIR:postgres"
  log "stopped ($DIR)"
}

cmd_restart_rabbitmq() {
  check_tools
  lock
  load_state
  [[ -n "$DATA" && -n "$AMQP_PORT" ]] || die "no services state in $DIR; run: $0 start '$DIR'"
  rmq_stop
  wait_ports_free "$AMQP_PORT" "$DIST_PORT" "$EPMD_PORT" || err "ports still busy; trying anyway"
  rmq_start || { rmq_stop || true; exit 1; }
}

cmd_restart_postgres() {
  check_tools
  lock
  load_state
  [[ -n "$DATA" && -n "$PG_PORT" ]] || die "no services state in $DIR; run: $0 start '$DIR'"
  pg_stop
  wait_ports_free "$PG_PORT" || err "port still busy; trying anyway"
  pg_start || { pg_stop || true; exit 1; }
}

cmd_status() {
  load_state
  local rc=0
  if rmq_running; then log "rabbitmq: running (pid $(rmq_beam_pid), amqp 127.0.0.1:$AMQP_PORT)"; else log "rabbitmq: stopped"; rc=1; fi
  if pg_running; then log "postgres: running (pid $(pg_pid), 127.0.0.1:$PG_PORT)"; else log "postgres: stopped"; rc=1; fi
  return $rc
}

cmd_clean() {
  cmd_stop
  load_state
  if [[ -n "$DATA" && "$DATA" != "$DIR" && "$DATA" == /tmp/beacon-svc.* ]]; then rm -rf "$DATA"; fi
  exec 9>&-
  rm -rf "$DIR"
  log "removed $DIR"
}

# shellcheck source=lib/rabbitmq-cluster.sh
source "$SCRIPT_DIR/lib/rabbitmq-cluster.sh"

case "$CMD" in
  start) cmd_start ;;
  kill-node) cmd_kill_node "$NODE_ARG" ;;
  start-node) cmd_start_node "$NODE_ARG" ;;
  stop) cmd_stop ;;
  restart-rabbitmq) cmd_restart_rabbitmq ;;
  restart-postgres) cmd_restart_postgres ;;
  status) cmd_status ;;
  clean) cmd_clean ;;
  free-port) pick_ports "${2:-1}" | tr ' ' '\n' ;;
  *) usage ;;
esac
