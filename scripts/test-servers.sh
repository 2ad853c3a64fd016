#!/usr/bin/env bash
# Throwaway PostgreSQL 15 and Redis 7 servers on 127.0.0.1, non-default ports, data in a temporary
# directory, fsync on; a PostgreSQL superuser and a Redis ACL admin user for the broker's root
# connections. Redis runs as a primary and a replica of it (ACLs are per node: the broker writes them
# to both), each with its own aclfile.
#
#   scripts/test-servers.sh start    start both (wipes earlier throwaway data if they are not running)
#   scripts/test-servers.sh stop     stop both and delete their data
#   scripts/test-servers.sh status   say whether each is running
#   scripts/test-servers.sh env      print the path of the env file to source
#
# Settings go to $CREDBROKER_SERVERS_DIR/env (mode 0600) as export lines; `start` prints them with the
# passwords masked. Overrides: CREDBROKER_SERVERS_DIR (default /tmp/credbroker-servers),
# CREDBROKER_TEST_PG_PORT (15432), CREDBROKER_TEST_REDIS_PORT (16379), CREDBROKER_TEST_REDIS_REPLICA_PORT
# (16380).
# PostgreSQL refuses to run as root, so as root it runs as the `postgres` OS user.
set -euo pipefail

DIR=${CREDBROKER_SERVERS_DIR:-/tmp/credbroker-servers}
PG_PORT=${CREDBROKER_TEST_PG_PORT:-15432}
REDIS_PORT=${CREDBROKER_TEST_REDIS_PORT:-16379}
REPLICA_PORT=${CREDBROKER_TEST_REDIS_REPLICA_PORT:-16380}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)}
ENV_FILE="$DIR/env"

die() { echo "test-servers: $*" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_running() { [ -n "$PG_BIN" ] && [ -d "$DIR/pg/data" ] && as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/data" status >/dev/null 2>&1; }
redis_running() {
  for r in redis replica; do
    [ -f "$DIR/$r/redis.pid" ] && kill -0 "$(cat "$DIR/$r/redis.pid")" 2>/dev/null || return 1
  done
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

random_password() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32; }

start() {
  [ -n "$PG_BIN" ] || die "PostgreSQL 15 binaries not found in /usr/lib/postgresql/15/bin: run scripts/install-deps.sh"
  command -v redis-server >/dev/null || die "redis-server not found: run scripts/install-deps.sh"
  if pg_running && redis_running && [ -f "$ENV_FILE" ]; then
    echo "test-servers: already running"
    show
    return
  fi
  stop_quiet
  for p in "$PG_PORT" "$REDIS_PORT" "$REPLICA_PORT"; do
    port_busy "$p" && die "port $p on 127.0.0.1 is in use by another program: set CREDBROKER_TEST_PG_PORT / CREDBROKER_TEST_REDIS_PORT / CREDBROKER_TEST_REDIS_REPLICA_PORT"
  done
  rm -rf "$DIR"
  mkdir -p "$DIR/pg" "$DIR/redis" "$DIR/replica"
  chmod 0755 "$DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DIR/pg"

  local pg_password redis_password
  pg_password=$(random_password)
  redis_password=$(random_password)

  # PostgreSQL: trust on the private unix socket (for setup), SCRAM on TCP.
  as_pg "$PG_BIN/initdb" -D "$DIR/pg/data" -U postgres -E UTF8 --auth-local=trust --auth-host=scram-sha-256 \
    --no-instructions >"$DIR/pg/initdb.log" 2>&1 || { cat "$DIR/pg/initdb.log" >&2; die "initdb failed"; }
  cat >>"$DIR/pg/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$DIR/pg'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 300
password_encryption = 'scram-sha-256'
shared_buffers = 128MB
CONF
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/postgres.log" -w -t 60 start >/dev/null \
    || { tail -20 "$DIR/pg/postgres.log" >&2; die "PostgreSQL did not start"; }
  echo "CREATE ROLE credbroker_root WITH SUPERUSER LOGIN PASSWORD :'pw';" |
    as_pg psql -q -v ON_ERROR_STOP=1 -v pw="$pg_password" -h "$DIR/pg" -p "$PG_PORT" -U postgres -d postgres >/dev/null \
    || die "could not create the credbroker_root role"

  # Redis: the default user is off; the broker's admin user may do everything. The replica follows
  # the primary as that user (masteruser), but keeps ACLs of its own.
  local r port extra
  for r in redis replica; do
    port=$REDIS_PORT
    extra=""
    if [ "$r" = replica ]; then
      port=$REPLICA_PORT
      extra="replicaof 127.0.0.1 $REDIS_PORT
masteruser credbroker_admin
masterauth $redis_password"
    fi
    cat >"$DIR/$r/users.acl" <<ACL
user default off
user credbroker_admin on >$redis_password ~* &* +@all
ACL
    cat >"$DIR/$r/redis.conf" <<CONF
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
dir $DIR/$r
pidfile $DIR/$r/redis.pid
logfile $DIR/$r/redis.log
aclfile $DIR/$r/users.acl
appendonly yes
appendfsync always
save ""
$extra
CONF
    chmod 0600 "$DIR/$r/users.acl" "$DIR/$r/redis.conf"
    redis-server "$DIR/$r/redis.conf" || die "redis-server ($r) did not start"
    local i
    for i in $(seq 1 100); do
      if REDISCLI_AUTH="$redis_password" redis-cli -h 127.0.0.1 -p "$port" --user credbroker_admin ping 2>/dev/null | grep -q PONG; then
        break
      fi
      [ "$i" -eq 100 ] && { tail -20 "$DIR/$r/redis.log" >&2; die "Redis ($r) did not answer PING"; }
      sleep 0.1
    done
  done

  umask 077
  cat >"$ENV_FILE" <<ENV
export CREDBROKER_SERVERS_DIR='$DIR'
export CREDBROKER_TEST_PG_HOST='127.0.0.1'
export CREDBROKER_TEST_PG_PORT='$PG_PORT'
export CREDBROKER_TEST_PG_USER='credbroker_root'
export CREDBROKER_TEST_PG_PASSWORD='$pg_password'
export CREDBROKER_TEST_PG_DATABASE='postgres'
export CREDBROKER_TEST_PG_URL='postgresql://{{username}}:{{password}}@127.0.0.1:$PG_PORT/postgres'
export CREDBROKER_TEST_PG_SOCKET_DIR='$DIR/pg'
export CREDBROKER_TEST_REDIS_HOST='127.0.0.1'
export CREDBROKER_TEST_REDIS_PORT='$REDIS_PORT'
export CREDBROKER_TEST_REDIS_REPLICA_PORT='$REPLICA_PORT'
export CREDBROKER_TEST_REDIS_DIR='$DIR/redis'
export CREDBROKER_TEST_REDIS_REPLICA_DIR='$DIR/replica'
export CREDBROKER_TEST_REDIS_USER='credbroker_admin'
export CREDBROKER_TEST_REDIS_PASSWORD='$redis_password'
ENV
  chmod 0600 "$ENV_FILE"
  echo "test-servers: started"
  show
}

show() {
  echo "  PostgreSQL 15: 127.0.0.1:$PG_PORT  superuser credbroker_root  (password in $ENV_FILE)"
  echo "  Redis 7:       127.0.0.1:$REDIS_PORT, replica 127.0.0.1:$REPLICA_PORT  ACL admin credbroker_admin  (password in $ENV_FILE)"
  echo "  settings:      source $ENV_FILE"
}

stop_quiet() {
  if pg_running; then as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -m fast -w stop >/dev/null 2>&1 || true; fi
  local r pid
  for r in replica redis; do
    if [ -f "$DIR/$r/redis.pid" ] && kill -0 "$(cat "$DIR/$r/redis.pid")" 2>/dev/null; then
      pid=$(cat "$DIR/$r/redis.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop_quiet; rm -rf "$DIR"; echo "test-servers: stopped" ;;
  status)
    pg_running && echo "PostgreSQL: running on 127.0.0.1:$PG_PORT" || echo "PostgreSQL: stopped"
    redis_running && echo "Redis: running on 127.0.0.1:$REDIS_PORT and replica :$REPLICA_PORT" || echo "Redis: stopped" ;;
  env) [ -f "$ENV_FILE" ] || die "not started: run scripts/test-servers.sh start"; echo "$ENV_FILE" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
