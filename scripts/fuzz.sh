#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs each for SECONDS
# (default 30), starting from the seed corpus in fuzz/corpus/. Exit status non-zero on any finding;
# the crashing input is left in build-fuzz/ as crash-*.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
command -v clang++ >/dev/null || { echo "fuzz: clang++ is required (apt-get install clang)" >&2; exit 1; }
export CC=clang CXX=clang++
# Sanitizer and coverage flags for the library code too, so overflows inside the parsers are caught
# and libFuzzer sees which branches of them an input reaches (without it, only the target is measured).
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREDBROKER_FUZZ=ON \
  -DCREDBROKER_BUILD_TESTS=OFF -DCREDBROKER_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined" >/dev/null
targets=(hcl username_template cron postgres_statements redis_acl_rules http_request fields)
cmake --build build-fuzz --target "${targets[@]/%/_fuzz}" >/dev/null
for target in "${targets[@]}"; do
  work="build-fuzz/corpus-$target"
  mkdir -p "$work"
  echo "fuzz: $target for ${seconds}s"
  (cd build-fuzz && "./fuzz/${target}_fuzz" -max_total_time="$seconds" -max_len=4096 -timeout=5 \
     "corpus-$target" "../fuzz/corpus/$target" 2>&1 | tail -n 3)
done
