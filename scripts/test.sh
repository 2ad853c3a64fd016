#!/usr/bin/env bash
# README command (b): install dependencies, build, start throwaway PostgreSQL and Redis, run the whole
# test suite (unit + integration, through ctest), stop the servers. Exits non-zero if any test fails.
# Run as root on a fresh machine (apt-get and the postgres OS user need it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CREDBROKER_BUILD_DIR:-$ROOT/build}
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh"
trap '"$ROOT/scripts/test-servers.sh" stop >/dev/null 2>&1 || true' EXIT
"$ROOT/scripts/test-servers.sh" start
# shellcheck disable=SC1090
. "$("$ROOT/scripts/test-servers.sh" env)"
cd "$BUILD"
ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@"
