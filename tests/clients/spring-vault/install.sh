#!/usr/bin/env bash
# Spring Vault (spring-vault-core 4.0.4, Jackson 3, the PostgreSQL JDBC driver): Maven resolves the
# pom's dependencies into a local repository under $CREDBROKER_CLIENTS_DIR/spring-vault/m2 and builds
# the lifecycle program into $CREDBROKER_CLIENTS_DIR/spring-vault/build (credbroker-spring-vault.jar
# + lib/), so the test runs offline with `java -jar`. JDK 17 and Maven come with the machine.
# Idempotent: when the jar was built from exactly these sources it returns at once.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=${CREDBROKER_CLIENTS_DIR:?CREDBROKER_CLIENTS_DIR is not set (scripts/install-clients.sh sets it)}/spring-vault
command -v java >/dev/null && command -v mvn >/dev/null || { echo "spring-vault: java and mvn are needed" >&2; exit 1; }
JAR=$DEST/build/credbroker-spring-vault.jar
STAMP=$DEST/installed-sources.sha256  # written last: a failed build is redone
sources=$(cd "$HERE" && find pom.xml src -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
if [ -f "$JAR" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$sources" ]; then
  echo "spring-vault: already built in $DEST/build"
  exit 0
fi
rm -f "$STAMP"
mkdir -p "$DEST"
# (Maven 3.8 prints terminal colour codes even in batch mode: sed takes them out.)
mvn -B -q -f "$HERE/pom.xml" -Dmaven.repo.local="$DEST/m2" -Dcredbroker.build.dir="$DEST/build" clean package 2>&1 \
  | sed 's/\x1b\[[0-9;]*m//g'
echo "$sources" > "$STAMP"
echo "spring-vault: built $JAR ($(ls "$DEST/build/lib" | grep -c jar) dependency jars)"
