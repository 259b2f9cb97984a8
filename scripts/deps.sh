#!/usr/bin/env bash
# Install beacon's build and runtime dependencies on Debian 12 if any are missing.
#
# Idempotent: when every package is already installed this only runs dpkg-query
# and returns in well under a second. When something is missing it runs
# `apt-get update` once and installs just the missing packages, quietly.
# Services shipped by the packages (rabbitmq-server, postgresql, epmd) are NOT
# started: a temporary policy-rc.d refuses service starts during the install, so
# nothing grabs the default ports 5672/5432/4369. Our tests run private
# instances via scripts/services.sh instead.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates openssl
  libpqxx-dev rapidjson-dev libspdlog-dev libfmt-dev
  libboost-dev libboost-program-options-dev
  librabbitmq-dev libgtest-dev libgmock-dev libssl-dev
  rabbitmq-server postgresql-15 postgresql-client-15
  python3 python3-yaml curl
  chromium prometheus   # the dashboard's browser test; promtool for the metrics and alert-rule tests
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "deps: installing missing packages: ${missing[*]}"

SUDO=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "deps: not root and no sudo; please install: ${missing[*]}" >&2
    exit 1
  fi
fi

log=$(mktemp /tmp/beacon-deps.XXXXXX.log)
policy=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
  if ((created_policy)); then "${SUDO[@]}" rm -f "$policy"; fi
}
trap cleanup EXIT

# Refuse service starts during the install (exit 101 = "action forbidden").
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\n# temporary, created by beacon scripts/deps.sh\nexit 101\n' |
    "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod 755 "$policy"
  created_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -y -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 --no-install-recommends)
if ! { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 update &&
       "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install "${missing[@]}"; } >"$log" 2>&1; then
  echo "deps: apt-get failed; last lines of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
rm -f "$log"

# Belt and braces: if a packaged service got started anyway (e.g. a system
# without policy-rc.d support), leave it alone but tell the user; our private
# instances choose free ports, so it does not conflict.
echo "deps: installed ${#missing[@]} package(s)"
