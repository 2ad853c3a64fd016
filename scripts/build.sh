#!/usr/bin/env bash
# Configures and builds credbroker into build/ (Ninja). CI=true turns warnings into errors.
# Extra arguments go to cmake's configure step, e.g. scripts/build.sh -DCMAKE_BUILD_TYPE=Debug
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CREDBROKER_BUILD_DIR:-$ROOT/build}
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# ccache, where a developer installed it, makes rebuilds and fresh worktrees cheap; CI has none.
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$BUILD" "${generator[@]}" "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREDBROKER_WERROR=$werror "$@" >/dev/null
else
  cmake -S "$ROOT" -B "$BUILD" -DCREDBROKER_WERROR=$werror "$@" >/dev/null
fi
cmake --build "$BUILD" --parallel "$(nproc)"
