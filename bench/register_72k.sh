#!/usr/bin/env bash
# bench/register_72k.sh — how long registering a job of 72,000 executions takes
# in Postgres, and registering it again (resume). The figure that used to be a
# timed assertion (< 60 s) in DbTest.LargeJobRegistersAndResumes
# (libbeacon/beacon/db/integration/register_itest.cpp), which keeps the
# functional part (the row counts); this script runs that test on fresh private
# services and prints the times it measured.
#
#   bench/register_72k.sh      (needs build/db_integration_tests)
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
LOG_DIR=$ROOT/.run/bench-register
install_cleanup
TESTS=$BUILD_DIR/db_integration_tests
need_bins "$PRODUCER" "$TESTS"

say "services"
start_services "$ROOT/.run/bench-register-services"
"$PRODUCER" migrate >"$LOG_DIR/migrate.log" 2>&1 || { cat "$LOG_DIR/migrate.log" >&2; die "migrate failed"; }

say "register 72,000 executions, then again"
timeout 600 "$TESTS" --gtest_filter='DbTest.LargeJobRegistersAndResumes' >"$LOG_DIR/test.log" 2>&1 ||
  { tail -n 40 "$LOG_DIR/test.log" >&2; die "the registration test failed"; }
echo "machine: $(machine_line)"
grep -E '^register 72,000' "$LOG_DIR/test.log" || die "the test printed no figure"
