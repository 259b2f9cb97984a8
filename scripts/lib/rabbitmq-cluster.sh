# shellcheck shell=bash
# An N-node RabbitMQ cluster on loopback, sourced by scripts/services.sh
# (which owns the single-node broker: node 1 of a cluster IS that broker,
# with its data folder, ports, wrappers and env.sh lines unchanged).
#
# Node K >= 2 gets:  data DATA/rabbitmq-K, wrappers DIR/bin/node-K/, ports
# recorded in DIR/cluster.env (AMQP, AMQPS, Erlang distribution), the node
# name beacon-<amqp port>@localhost, the process tag DIR:rabbitmq-K, and node
# 1's Erlang cookie and TLS files. All nodes share one epmd (tag DIR:epmd):
# Erlang nodes find each other through it, so it must outlive any one node
# (kill-node K never touches it). Node K joins node 1 with
# `rabbitmqctl join_cluster` on its first start only; later starts find the
# membership in their own data folder.

CLUSTER_ENV=$DIR/cluster.env
N1_NODE="" N1_AMQP="" N1_AMQPS="" N1_DIST=""

# Remember node 1 (the state services.sh loaded) so selecting node K and
# back is loss-free.
cluster_remember_node1() {
  N1_NODE=$RMQ_NODE N1_AMQP=$AMQP_PORT N1_AMQPS=$AMQPS_PORT N1_DIST=$DIST_PORT
}

# Make node K the one rmq_start / rmq_stop / R() work on.
cluster_select() {
  local k=$1
  [[ -n "$N1_AMQP" ]] || cluster_remember_node1
  RMQ_SHARED_EPMD=1
  if ((k == 1)); then
    RMQ_SUFFIX="" RMQ_BIN_SUB=""
    RMQ_NODE=$N1_NODE AMQP_PORT=$N1_AMQP AMQPS_PORT=$N1_AMQPS DIST_PORT=$N1_DIST
    return 0
  fi
  local a="NODE_${k}_AMQP" s="NODE_${k}_AMQPS" d="NODE_${k}_DIST"
  [[ -n "${!a:-}" ]] || die "no ports recorded for node $k in $CLUSTER_ENV"
  RMQ_SUFFIX="-$k" RMQ_BIN_SUB="/node-$k"
  AMQP_PORT=${!a} AMQPS_PORT=${!s} DIST_PORT=${!d}
  RMQ_NODE="beacon-$AMQP_PORT@localhost"
}

cluster_load() {
  # shellcheck disable=SC1090
  [[ -f "$CLUSTER_ENV" ]] && source "$CLUSTER_ENV"
  cluster_remember_node1
}

# Ports for nodes 2..N: the recorded ones when still free (or their node
# runs), else fresh ones.
cluster_choose_ports() {
  local k a s d keep out="# written by scripts/services.sh (rabbitmq-cluster.sh); do not edit"
  for ((k = 2; k <= RMQ_NODES; k++)); do
    a="NODE_${k}_AMQP" s="NODE_${k}_AMQPS" d="NODE_${k}_DIST"
    keep=0
    if [[ -n "${!a:-}" ]]; then
      cluster_select "$k"
      if rmq_running || ports_free "${!a}" "${!s}" "${!d}"; then keep=1; fi
    fi
    if ((!keep)); then read -r "$a" "$s" "$d" < <(pick_ports 3) || die "no free ports"; fi
    out+=$'\n'"$a='${!a}'"$'\n'"$s='${!s}'"$'\n'"$d='${!d}'"
  done
  cluster_select 1
  printf '%s\n' "$out" >"$CLUSTER_ENV.tmp"
  mv "$CLUSTER_ENV.tmp" "$CLUSTER_ENV"
}

cluster_epmd_start() {
  local pidf=$DATA/epmd.pid pid deadline
  pid=$(read_pid "$pidf")
  if pid_alive "$pid" && tcp_open "$EPMD_PORT"; then return 0; fi
  sweep_tagged "$DIR:epmd"
  rm -f "$pidf"
  setsid bash -c "$LAUNCH" "$pidf" \
    env BEACON_SVC_TAG="$DIR:epmd" "${AS_RMQ[@]}" epmd -port "$EPMD_PORT" -address 127.0.0.1 \
    >>"$DATA/epmd.log" 2>&1 </dev/null 9>&- &
  pid=$(wait_pidfile "$pidf") || { err "epmd launcher did not start"; return 1; }
  deadline=$(( $(date +%s) + 10 ))
  until tcp_open "$EPMD_PORT"; do
    if (( $(date +%s) > deadline )) || ! pid_alive "$pid"; then err "epmd did not start on port $EPMD_PORT"; return 1; fi
    sleep 0.05
  done
}

# Node K's first start: node 1's cookie (or the nodes cannot talk) and TLS
# files (one CA for the whole cluster).
cluster_seed_node() {
  local r n1
  r=$(R) n1="$DATA/rabbitmq"
  [[ -s "$r/home/.erlang.cookie" ]] && return 0
  mkdir -p "$r/home"
  cp "$n1/home/.erlang.cookie" "$r/home/.erlang.cookie"
  chmod 400 "$r/home/.erlang.cookie"
  [[ -d "$n1/tls" ]] && cp -r "$n1/tls" "$r/tls"
  if ((EUID == 0)); then chown -R "$RMQ_USER:" "$r"; fi
}

cluster_join() {
  local ctl="$DIR/bin$RMQ_BIN_SUB/rabbitmqctl" out
  [[ -f "$(R)/joined" ]] && return 0
  out="$(R)/join.out"
  if ! { "$ctl" stop_app && "$ctl" join_cluster "$N1_NODE" && "$ctl" start_app &&
         "$ctl" await_startup --timeout "$TIMEOUT"; } >"$out" 2>&1; then
    err "node $RMQ_NODE could not join $N1_NODE:"; cat "$out" >&2; return 1
  fi
  touch "$(R)/joined"
  log "rabbitmq node $RMQ_NODE joined the cluster of $N1_NODE"
}

cluster_start() {
  local k
  cluster_load
  cluster_choose_ports
  cluster_epmd_start || return 1
  for ((k = 1; k <= RMQ_NODES; k++)); do
    cluster_select "$k"
    ((k == 1)) || cluster_seed_node || return 1
    rmq_start || { cluster_select 1; return 1; }
    ((k == 1)) || cluster_join || { cluster_select 1; return 1; }
  done
  cluster_select 1
  log "rabbitmq cluster of $RMQ_NODES nodes ready: $(cluster_urls)"
}

cluster_stop() {
  local k
  cluster_load
  # In parallel: a node that waits for its peers would only wait longer alone.
  for ((k = RMQ_NODES; k >= 1; k--)); do
    (cluster_select "$k"; rmq_stop) &
  done
  wait
  cluster_select 1
  local pid; pid=$(read_pid "$DATA/epmd.pid")
  if pid_alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; wait_exit "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$DATA/epmd.pid"
}

cluster_sweep() {
  local k
  for ((k = 2; k <= RMQ_NODES; k++)); do sweep_tagged "$DIR:rabbitmq-$k"; done
  sweep_tagged "$DIR:epmd"
}

cluster_urls() {
  local k out=""
  for ((k = 1; k <= RMQ_NODES; k++)); do
    cluster_select "$k"
    out+="${out:+,}amqp://guest:guest@127.0.0.1:$AMQP_PORT"
  done
  cluster_select 1
  printf '%s' "$out"
}

cluster_write_env() {
  local k
  printf "export BEACON_RABBITMQ_NODES='%s'\n" "$RMQ_NODES"
  for ((k = 1; k <= RMQ_NODES; k++)); do
    cluster_select "$k"
    printf "export BEACON_AMQP_URL_%s='amqp://guest:guest@127.0.0.1:%s'\n" "$k" "$AMQP_PORT"
    printf "export BEACON_RABBITMQ_NODE_%s='%s'\n" "$k" "$RMQ_NODE"
    printf "export BEACON_RABBITMQCTL_%s='%s'\n" "$k" "$DIR/bin$RMQ_BIN_SUB/rabbitmqctl"
  done
  cluster_select 1
  printf "export BEACON_AMQP_URL='%s'\n" "$(cluster_urls)"
}

cluster_check_node() {
  ((RMQ_NODES > 1)) || die "$DIR runs a single broker, not a cluster (start with BEACON_RABBITMQ_NODES=N)"
  (($1 >= 1 && $1 <= RMQ_NODES)) || die "node $1: the cluster has nodes 1 to $RMQ_NODES"
}

# SIGKILL node K's Erlang VM: no goodbye to its peers or clients.
cmd_kill_node() {
  local k=$1 beam
  lock
  load_state
  cluster_check_node "$k"
  cluster_load
  cluster_select "$k"
  beam=$(rmq_beam_pid)
  pid_alive "$beam" || { log "rabbitmq node $k ($RMQ_NODE) is not running"; return 0; }
  kill -KILL "$beam"
  wait_exit "$beam" 10 || die "node $k (pid $beam) still alive after SIGKILL"
  log "rabbitmq node $k ($RMQ_NODE, pid $beam) killed"
}

cmd_start_node() {
  local k=$1
  check_tools
  lock
  load_state
  cluster_check_node "$k"
  cluster_load
  cluster_epmd_start
  cluster_select "$k"
  if rmq_running; then log "rabbitmq node $k already running (pid $(rmq_beam_pid))"; return 0; fi
  wait_ports_free "$AMQP_PORT" "$AMQPS_PORT" "$DIST_PORT" || err "ports of node $k still busy; trying anyway"
  rmq_start
}
