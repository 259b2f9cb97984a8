#!/usr/bin/env python3
"""Checks that docker-compose.yml never SIGKILLs a drain in progress.

For every service that runs beacon-worker or beacon-progress-writer, the drain
bound is read from the program itself (`--help` states the --drain-timeout-s
default) unless the service's command sets the flag, plus the settle margin
the program documents (worker: 10 s after the drain timeout; writer: its final
commit and ack, given 10 s here too). Compose's stop_grace_period (the
service's own, else the shared default) must exceed that bound.

Usage: compose_grace_check.py COMPOSE_FILE BUILD_DIR
"""
import re
import subprocess
import sys

import yaml

SETTLE_MARGIN_S = 10
PROGRAMS = ("beacon-worker", "beacon-progress-writer")


def seconds(text):
    """Compose durations as used here: '90s', '1m30s', '2m'."""
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", str(text).strip())
    if not match or not any(match.groups()):
        raise ValueError(f"unreadable duration {text!r}")
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def default_drain_timeout(build_dir, program):
    out = subprocess.run([f"{build_dir}/{program}", "--help"], capture_output=True, text=True, check=False)
    match = re.search(r"--drain-timeout-s\s+S\s+.*\(default (\d+)\)", out.stdout + out.stderr)
    if not match:
        raise SystemExit(f"{program} --help does not state the --drain-timeout-s default")
    return int(match.group(1))


def main(compose_file, build_dir):
    with open(compose_file, encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    failures, checked = [], 0
    for name, service in compose.get("services", {}).items():
        command = service.get("command") or []
        program = next((p for p in PROGRAMS if p in command), None)
        if program is None:
            continue
        checked += 1
        drain = default_drain_timeout(build_dir, program)
        if "--drain-timeout-s" in command:
            drain = int(command[command.index("--drain-timeout-s") + 1])
        bound = drain + SETTLE_MARGIN_S
        grace = seconds(service.get("stop_grace_period", "10s"))  # Compose's own default is 10 s
        status = "ok" if grace > bound else "TOO SHORT"
        print(f"{name}: {program} drains within {bound} s, stop_grace_period {grace} s: {status}")
        if grace <= bound:
            failures.append(name)
    if checked == 0:
        raise SystemExit("no beacon-worker or beacon-progress-writer service found: the check checked nothing")
    if failures:
        raise SystemExit(f"stop_grace_period must exceed the drain bound for: {', '.join(failures)}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
