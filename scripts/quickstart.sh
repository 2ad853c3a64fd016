#!/usr/bin/env bash
# README command (a): install dependencies, build, start throwaway PostgreSQL and Redis, start the
# broker in dev mode on 127.0.0.1:8200 in the background, and print what to try next.
# Run as root on a fresh machine. Stop everything with: scripts/quickstart.sh stop
# For the test that runs this script (tests/integration/scripts): CREDBROKER_QUICKSTART_ADDR sets the
# broker's address, CREDBROKER_QUICKSTART_PREBUILT=1 skips installing and building (done already).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CREDBROKER_BUILD_DIR:-$ROOT/build}
STATE=${CREDBROKER_QUICKSTART_DIR:-/tmp/credbroker-quickstart}
ADDR=${CREDBROKER_QUICKSTART_ADDR:-127.0.0.1:8200}

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

if [ "${CREDBROKER_QUICKSTART_PREBUILT:-}" != 1 ]; then
  "$ROOT/scripts/install-deps.sh"
  "$ROOT/scripts/build.sh"
fi
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

# The database engine: a mount, a connection to the throwaway PostgreSQL, and a role "app".
# shellcheck disable=SC1090
. "$("$ROOT/scripts/test-servers.sh" env)"
api() {  # api METHOD PATH [JSON]: fails loudly on an error status
  local out code
  out=$(curl -s -w '\n%{http_code}' -X "$1" -H "X-Vault-Token: $token" "http://$ADDR/v1/$2" ${3:+-d "$3"})
  code=${out##*$'\n'}
  if [ "${code:0:1}" != 2 ]; then echo "quickstart: $1 $2 answered $code: ${out%$'\n'*}" >&2; exit 1; fi
  printf '%s' "${out%$'\n'*}"
}
api POST sys/mounts/database '{"type":"database"}' >/dev/null
cfg=$(CONN_URL="$CREDBROKER_TEST_PG_URL" PG_USER="$CREDBROKER_TEST_PG_USER" PG_PASS="$CREDBROKER_TEST_PG_PASSWORD" \
  python3 -c 'import json, os; print(json.dumps({"plugin_name": "postgresql-database-plugin", "allowed_roles": "app",
    "connection_url": os.environ["CONN_URL"], "username": os.environ["PG_USER"], "password": os.environ["PG_PASS"]}))')
api POST database/config/postgres "$cfg" >/dev/null
api POST database/roles/app '{"db_name":"postgres","default_ttl":"1h","max_ttl":"24h","creation_statements":["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '"'"'{{password}}'"'"' VALID UNTIL '"'"'{{expiration}}'"'"';","GRANT pg_read_all_data TO \"{{name}}\";"]}' >/dev/null
# And Redis, primary + replica: every user is written to both.
rcfg=$(R_USER="$CREDBROKER_TEST_REDIS_USER" R_PASS="$CREDBROKER_TEST_REDIS_PASSWORD" R_PORT="$CREDBROKER_TEST_REDIS_PORT" \
  R_REPLICA="127.0.0.1:$CREDBROKER_TEST_REDIS_REPLICA_PORT" python3 -c 'import json, os; print(json.dumps({
    "plugin_name": "redis-database-plugin", "allowed_roles": "cache", "host": "127.0.0.1", "port": int(os.environ["R_PORT"]),
    "username": os.environ["R_USER"], "password": os.environ["R_PASS"], "replicas": [os.environ["R_REPLICA"]]}))')
api POST database/config/redis "$rcfg" >/dev/null
api POST database/roles/cache '{"db_name":"redis","default_ttl":"1h","creation_statements":["[\"~cache:*\", \"+@read\", \"+@write\"]"]}' >/dev/null

cat <<MSG

credbroker is running in dev mode on http://$ADDR (log: $STATE/credbroker.log)
Throwaway PostgreSQL and Redis are running too (settings: source $("$ROOT/scripts/test-servers.sh" env)).
Mounted: database/ with connection "postgres" (PostgreSQL on 127.0.0.1:$CREDBROKER_TEST_PG_PORT) and role "app",
         and connection "redis" (Redis on 127.0.0.1:$CREDBROKER_TEST_REDIS_PORT + replica) and role "cache".

  export VAULT_ADDR=http://$ADDR
  export VAULT_TOKEN=\$(cat $STATE/root-token)

A PostgreSQL login, with curl:
  curl -s -H "X-Vault-Token: \$VAULT_TOKEN" \$VAULT_ADDR/v1/database/creds/app

A Redis login (on the primary and the replica):
  curl -s -H "X-Vault-Token: \$VAULT_TOKEN" \$VAULT_ADDR/v1/database/creds/cache

The same with python3-hvac (Debian's python3):
  /usr/bin/python3 -c 'import hvac; print(hvac.Client().secrets.database.generate_credentials("app")["data"])'

Stop everything:
  $ROOT/scripts/quickstart.sh stop

Now, with curl:
MSG
creds=$(api GET database/creds/app)
echo "$creds"
user=$(printf '%s' "$creds" | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["username"])')
pass=$(printf '%s' "$creds" | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["password"])')
echo
echo "Logging in to PostgreSQL with it:"
PGPASSWORD="$pass" psql -h 127.0.0.1 -p "$CREDBROKER_TEST_PG_PORT" -U "$user" -d postgres -Atc \
  "SELECT 'logged in as ' || current_user || ', valid until ' || rolvaliduntil FROM pg_roles WHERE rolname = current_user"
echo
echo "And with python3-hvac:"
VAULT_ADDR="http://$ADDR" VAULT_TOKEN="$token" /usr/bin/python3 -c \
  'import hvac; print(hvac.Client().secrets.database.generate_credentials("app")["data"])'
