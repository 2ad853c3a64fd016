#!/usr/bin/env bash
# Installs the test clients of tests/clients/ (the client matrix): runs each client folder's
# install.sh with CREDBROKER_CLIENTS_DIR (default build/clients) exported, where the client puts its
# toolchain, packages and built programs. The broker itself never depends on any of this.
# Idempotent: a client already installed costs about a second. Needs the registries of this machine
# (the Go module proxy, PyPI, npm, Maven Central); scripts/install-deps.sh first.
#   scripts/install-clients.sh [CLIENT...]     (default: every folder with an install.sh)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CREDBROKER_CLIENTS_DIR=${CREDBROKER_CLIENTS_DIR:-${CREDBROKER_BUILD_DIR:-$ROOT/build}/clients}
mkdir -p "$CREDBROKER_CLIENTS_DIR"
clients=("$@")
if [ ${#clients[@]} -eq 0 ]; then
  for f in "$ROOT"/tests/clients/*/install.sh; do
    [ -e "$f" ] && clients+=("$(basename "$(dirname "$f")")")
  done
fi
for c in "${clients[@]}"; do
  script="$ROOT/tests/clients/$c/install.sh"
  [ -f "$script" ] || { echo "install-clients: no $script" >&2; exit 1; }
  started=$(date +%s)
  (cd "$ROOT/tests/clients/$c" && bash ./install.sh) || { echo "install-clients: $c failed" >&2; exit 1; }
  echo "install-clients: $c ready ($(( $(date +%s) - started ))s)"
done
