#!/usr/bin/env bash
# Installs everything credbroker needs to build, test and run, from Debian 12's packages only.
# Idempotent: packages already present are skipped, so running it twice costs a second.
# Needs root (apt-get). Nothing is downloaded at build or run time.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libpqxx-dev libhiredis-dev libboost-dev libssl-dev nlohmann-json3-dev libspdlog-dev
  libgtest-dev libgmock-dev libsqlite3-dev libbenchmark-dev
  postgresql postgresql-client redis-server redis-tools
  python3 python3-hvac python3-requests python3-psycopg2 python3-redis python3-yaml curl procps
  clang libclang-rt-14-dev
  python3-venv
  systemd
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run this script as root (apt-get needs it)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged servers; our tests run their own throwaway ones on other ports.
for svc in redis-server postgresql; do
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  service "$svc" stop >/dev/null 2>&1 || true
done
echo "install-deps: done"
