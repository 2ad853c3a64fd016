#!/usr/bin/env bash
# Builds consul-template with `go install` (its own go.mod and go.sum pin every dependency) into
# $CREDBROKER_CLIENTS_DIR/consul-template, GOPATH, module and build caches under it. Skipped when
# that version is there already.
set -euo pipefail
: "${CREDBROKER_CLIENTS_DIR:?run through scripts/install-clients.sh}"
command -v go >/dev/null || { echo "$0: the Go toolchain (1.24 or newer) is needed on PATH" >&2; exit 1; }
version=v0.41.1
out=$CREDBROKER_CLIENTS_DIR/consul-template
mkdir -p "$out"
export GOPATH=$out/gopath GOMODCACHE=$out/gopath/pkg/mod GOCACHE=$out/gocache GOBIN=$out/bin GOTOOLCHAIN=local
if [ -x "$out/bin/consul-template" ] && "$out/bin/consul-template" -version 2>&1 | grep -q "consul-template $version "; then
  exit 0
fi
go install "github.com/hashicorp/consul-template@$version"
"$out/bin/consul-template" -version
