#!/usr/bin/env bash
# hvac 2.x in its own virtualenv under $CREDBROKER_CLIENTS_DIR/hvac2, made with Debian's python3
# (without the system's site-packages, so Debian's hvac 0.11.2, which the integration tests keep
# using, is not seen). Every package is pinned in requirements.txt. Idempotent: when the venv holds
# exactly requirements.txt it returns at once.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=${CREDBROKER_CLIENTS_DIR:?CREDBROKER_CLIENTS_DIR is not set (scripts/install-clients.sh sets it)}/hvac2
VENV=$DEST/venv
STAMP=$DEST/installed-requirements.txt
if [ -x "$VENV/bin/python" ] && cmp -s "$HERE/requirements.txt" "$STAMP" \
   && "$VENV/bin/python" -c 'import hvac, psycopg2, redis' 2>/dev/null; then
  echo "hvac2: already installed in $VENV"
  exit 0
fi
rm -rf "$VENV" "$STAMP"
mkdir -p "$DEST"
/usr/bin/python3 -m venv "$VENV"
"$VENV/bin/pip" install --disable-pip-version-check --no-input -q --no-deps -r "$HERE/requirements.txt"
"$VENV/bin/pip" check --disable-pip-version-check -q
cp "$HERE/requirements.txt" "$STAMP"
echo "hvac2: installed $("$VENV/bin/python" -c 'import importlib.metadata as m; print("hvac", m.version("hvac"))') in $VENV"
