#!/usr/bin/env bash
# THE test command: installs missing deps, builds, starts a private RabbitMQ and
# Postgres on free loopback ports from empty data folders, runs every CTest test against them, and
# stops the services again whatever happens.
#
#   scripts/test.sh                 # all tests (unit, integration, chaos, ...)
#   scripts/test.sh -L unit         # extra arguments go to ctest
#   scripts/test.sh -R Spec -V
#
# Environment seen by the tests:
#   BEACON_AMQP_URL, BEACON_DATABASE_URL   the private services (see scripts/services.sh)
#   BEACON_BUILD_DIR, BEACON_SOURCE_DIR     absolute build and source folders
#   BEACON_SERVICES_SCRIPT, BEACON_SERVICES_DIR
#       chaos tests run "$BEACON_SERVICES_SCRIPT" restart-rabbitmq "$BEACON_SERVICES_DIR"
#       (or restart-postgres) to bounce the broker or the database.
# Knobs: BEACON_BUILD_DIR (build), BEACON_BUILD_TYPE (RelWithDebInfo), BEACON_JOBS (2),
#        BEACON_CTEST_TIMEOUT (900 s per test), BEACON_SKIP_DEPS=1 / BEACON_SKIP_BUILD=1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD_DIR=${BEACON_BUILD_DIR:-$ROOT/build}
SERVICES=$ROOT/scripts/services.sh
SERVICES_DIR=$ROOT/.run/test-services

step() { printf '\n==> %s\n' "$*"; }

step "dependencies"
if [[ "${BEACON_SKIP_DEPS:-0}" != 1 ]]; then
  "$ROOT/scripts/deps.sh"
fi

if [[ ! -f "$ROOT/CMakeLists.txt" ]]; then
  echo "test.sh: no CMakeLists.txt in $ROOT yet: nothing to build or test" >&2
  exit 1
fi

stop_services() {
  local rc=$?
  trap - EXIT INT TERM
  step "stopping services"
  # (waits for a start still running in the background: services.sh locks DIR)
  "$SERVICES" stop "$SERVICES_DIR" || echo "test.sh: services stop failed" >&2
  exit "$rc"
}
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Every run starts from clean services: the data of the last run (its jobs,
# ~130k rows, and every queue it left) is deleted before the start, so no test
# passes or fails on what an earlier run left behind.
"$SERVICES" clean "$SERVICES_DIR" || { echo "test.sh: could not clean $SERVICES_DIR" >&2; exit 1; }
# The services start in the background while the build runs.
mkdir -p "$SERVICES_DIR"
"$SERVICES" start "$SERVICES_DIR" >"$SERVICES_DIR/start.out" 2>&1 &
services_job=$!

step "configure + build ($BUILD_DIR)"
if [[ "${BEACON_SKIP_BUILD:-0}" != 1 ]]; then
  # Warnings are errors here (development and CI), never in a user's build.
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BEACON_BUILD_TYPE:-RelWithDebInfo}" \
    -DBEACON_WERROR=ON "${launcher[@]}"
  cmake --build "$BUILD_DIR" -j"${BEACON_JOBS:-2}"
fi

step "private services ($SERVICES_DIR)"
services_rc=0
wait "$services_job" || services_rc=$?
cat "$SERVICES_DIR/start.out"
if ((services_rc != 0)); then
  echo "test.sh: could not start the services" >&2
  exit 1
fi
# shellcheck disable=SC1091
source "$SERVICES_DIR/env.sh"
export BEACON_BUILD_DIR=$BUILD_DIR
export BEACON_SOURCE_DIR=$ROOT
export BEACON_SERVICES_SCRIPT=$SERVICES
export BEACON_SERVICES_DIR

if [[ -x "$BUILD_DIR/beacon-producer" ]]; then
  step "migrate"
  "$BUILD_DIR/beacon-producer" migrate
fi

step "ctest $*"
rc=0
ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error \
  --timeout "${BEACON_CTEST_TIMEOUT:-900}" "$@" || rc=$?
exit "$rc"
