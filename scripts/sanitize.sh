#!/usr/bin/env bash
# Builds credbroker with ThreadSanitizer (build-tsan/) or AddressSanitizer + UBSan (build-asan/) and
# runs the ctest suite against that build, the Python tests included (they start the sanitized
# server binary). Reports go to build-<kind>/sanitizer-reports/, one file per process that found
# something; the exit status is non-zero if any report was written. Not part of CI: the sanitized
# build and run take about 30 minutes on 2 cores. Needs the throwaway servers (scripts/test-servers.sh
# start). A few timing-tight tests may fail under the slowdown; the reports are what this is for.
#   scripts/sanitize.sh thread|address [CTEST_ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-}"
shift || true
case "$kind" in
  thread) dir=build-tsan flags="-fsanitize=thread -O1 -g" ;;
  address) dir=build-asan flags="-fsanitize=address,undefined -fno-omit-frame-pointer -O1 -g" ;;
  *) echo "usage: scripts/sanitize.sh thread|address [CTEST_ARGS...]" >&2; exit 2 ;;
esac
link="${flags%% -O1*}"
CREDBROKER_BUILD_DIR="$dir" scripts/build.sh -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$link" \
  -DCMAKE_SHARED_LINKER_FLAGS="$link" >/dev/null
. "$(scripts/test-servers.sh env)"
reports="$PWD/$dir/sanitizer-reports"
rm -rf "$reports" && mkdir -p "$reports"
export TSAN_OPTIONS="log_path=$reports/tsan halt_on_error=0"
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1"
(cd "$dir" && ctest "$@") || echo "sanitize: some tests failed (see above); reports follow" >&2
if compgen -G "$reports/*" >/dev/null; then
  echo "sanitize: reports in $reports:" >&2
  ls "$reports" >&2
  exit 1
fi
echo "sanitize: no reports"
