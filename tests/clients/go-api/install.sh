#!/usr/bin/env bash
# Builds the go-api client test (go test -c) into $CREDBROKER_CLIENTS_DIR/go-api, with GOPATH, the
# module cache and the build cache under it too, from the committed go.mod and go.sum (-mod=readonly:
# the builds are reproducible). Skipped when the binary was built from the same sources.
set -euo pipefail
: "${CREDBROKER_CLIENTS_DIR:?run through scripts/install-clients.sh}"
command -v go >/dev/null || { echo "$0: the Go toolchain (1.24 or newer) is needed on PATH" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
out=$CREDBROKER_CLIENTS_DIR/go-api
mkdir -p "$out"
export GOPATH=$out/gopath GOMODCACHE=$out/gopath/pkg/mod GOCACHE=$out/gocache GOFLAGS=-mod=readonly GOTOOLCHAIN=local
stamp=$(cd "$here" && cat go.mod go.sum ./*.go | sha256sum | cut -d' ' -f1)
if [ -x "$out/go-api.test" ] && [ "$(cat "$out/go-api.test.sources" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
(cd "$here" && go test -c -o "$out/go-api.test.new" .)
mv "$out/go-api.test.new" "$out/go-api.test"
echo "$stamp" > "$out/go-api.test.sources"
