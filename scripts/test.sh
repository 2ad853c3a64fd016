#!/usr/bin/env bash
# README command (b): install dependencies, build, start throwaway PostgreSQL and Redis, run the whole
# test suite (unit, integration, clients and crash tests, through ctest) and a short fuzzing run, stop the servers. Exits non-zero if any test fails.
# Run as root on a fresh machine (apt-get and the postgres OS user need it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CREDBROKER_BUILD_DIR:-$ROOT/build}
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh"
"$ROOT/scripts/install-clients.sh"
trap '"$ROOT/scripts/test-servers.sh" stop >/dev/null 2>&1 || true' EXIT
"$ROOT/scripts/test-servers.sh" start
# shellcheck disable=SC1090
. "$("$ROOT/scripts/test-servers.sh" env)"
(cd "$BUILD" && ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@")
# A short libFuzzer run of every fuzz target (clang, ASan + UBSan); CREDBROKER_FUZZ_SECONDS=0 skips it.
if [ "${CREDBROKER_FUZZ_SECONDS:-20}" != 0 ]; then
  "$ROOT/scripts/fuzz.sh" "${CREDBROKER_FUZZ_SECONDS:-20}"
fi
