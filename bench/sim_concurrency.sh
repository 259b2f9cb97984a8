#!/usr/bin/env bash
# bench/sim_concurrency.sh — how long 200 concurrent requests of 400 ms take on
# one beacon-infer-sim server thread (they wait together, so ~0.4 s plus
# overhead; serially it would be 80 s). The figure that used to be a timed
# assertion in tests/infer-sim/sim_server_test.cpp (< 4 s); the test keeps the
# functional part (all answered, and they were in flight together).
#
#   bench/sim_concurrency.sh            (BENCH_CLIENTS=200, BENCH_LATENCY_MS=400)
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
CLIENTS=${BENCH_CLIENTS:-200}
LATENCY_MS=${BENCH_LATENCY_MS:-400}
LOG_DIR=$ROOT/.run/bench-sim-concurrency
install_cleanup
need_bins "$SIM"
need_tools curl jq

start_bg sim "$SIM" --port 0 --threads 1 --latency-ms "$LATENCY_MS"
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$LOG_DIR/sim.log" | head -n1)
  [[ -n "$port" ]] && break
  check_alive
  sleep 0.1
done
[[ -n "$port" ]] || die "beacon-infer-sim did not say where it listens"

body='{"model":"m","messages":[{"role":"user","content":"hi"}]}'
say "$CLIENTS concurrent requests of $LATENCY_MS ms on one sim thread"
t0=$(now_ns)
for ((i = 0; i < CLIENTS; i++)); do
  curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 -H 'content-type: application/json' \
    -d "$body" "http://127.0.0.1:$port/v1/chat/completions" >"$LOG_DIR/code-$i" &
done
wait
t1=$(now_ns)
ok=$(cat "$LOG_DIR"/code-* | grep -c '^200$' || true)
((ok == CLIENTS)) || die "only $ok of $CLIENTS requests answered 200"
max_in_flight=$(curl -s "http://127.0.0.1:$port/stats" | jq -r .max_in_flight)
echo "machine: $(machine_line)"
echo "$CLIENTS requests of $LATENCY_MS ms: $(s_between "$t0" "$t1") s wall (serial: $((CLIENTS * LATENCY_MS / 1000)) s), max in flight $max_in_flight"
