#!/usr/bin/env bash
# README command (a): install dependencies, build, start throwaway PostgreSQL and Redis, start the
# broker in dev mode on 127.0.0.1:8200 in the background, and print what to try next.
# Run as root on a fresh machine. Stop everything with: scripts/quickstart.sh stop
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CREDBROKER_BUILD_DIR:-$ROOT/build}
STATE=${CREDBROKER_QUICKSTART_DIR:-/tmp/credbroker-quickstart}
ADDR=127.0.0.1:8200

stop_broker() {
  if [ -f "$STATE/credbroker.pid" ] && kill -0 "$(cat "$STATE/credbroker.pid")" 2>/dev/null; then
    kill -TERM "$(cat "$STATE/credbroker.pid")"
    for _ in $(seq 1 100); do kill -0 "$(cat "$STATE/credbroker.pid")" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$STATE/credbroker.pid"
}

if [ "${1:-}" = "stop" ]; then
  stop_broker
  "$ROOT/scripts/test-servers.sh" stop
  exit 0
fi

"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh"
"$ROOT/scripts/test-servers.sh" start
mkdir -p "$STATE"
chmod 0700 "$STATE"
stop_broker
token="dev-$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)"
umask 077
printf '%s\n' "$token" >"$STATE/root-token"
VAULT_DEV_ROOT_TOKEN_ID="$token" nohup "$BUILD/broker/credbroker" server -dev -dev-listen-address "$ADDR" \
  >"$STATE/banner.txt" 2>"$STATE/credbroker.log" </dev/null &
echo $! >"$STATE/credbroker.pid"
for i in $(seq 1 100); do
  curl -sf "http://$ADDR/v1/sys/health" >/dev/null 2>&1 && break
  if [ "$i" -eq 100 ] || ! kill -0 "$(cat "$STATE/credbroker.pid")" 2>/dev/null; then
    cat "$STATE/credbroker.log" >&2
    echo "quickstart: the broker did not start" >&2
    exit 1
  fi
  sleep 0.1
done

cat <<MSG

credbroker is running in dev mode on http://$ADDR (log: $STATE/credbroker.log)
Throwaway PostgreSQL and Redis are running too (settings: source $("$ROOT/scripts/test-servers.sh" env)).

  export VAULT_ADDR=http://$ADDR
  export VAULT_TOKEN=\$(cat $STATE/root-token)

Health (no token needed):
  curl -s \$VAULT_ADDR/v1/sys/health

An authenticated request (the database engine is not mounted yet, so this answers Vault's 404):
  curl -s -X LIST -H "X-Vault-Token: \$VAULT_TOKEN" \$VAULT_ADDR/v1/nothing/here

Stop everything:
  $ROOT/scripts/quickstart.sh stop
MSG
