#!/usr/bin/env bash
# node-vault 0.12 and the drivers the lifecycle test logs in with (pg, redis), exactly as
# package-lock.json pins them: `npm ci` into $CREDBROKER_CLIENTS_DIR/node-vault (the test finds them
# through NODE_PATH). Node 20 and npm come with the machine. Idempotent: when the installed tree
# was made from this very package-lock.json it returns at once.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=${CREDBROKER_CLIENTS_DIR:?CREDBROKER_CLIENTS_DIR is not set (scripts/install-clients.sh sets it)}/node-vault
command -v node >/dev/null && command -v npm >/dev/null || { echo "node-vault: node and npm are needed" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "node-vault: Node 20 or newer is needed (found $(node --version))" >&2; exit 1; }
STAMP=$DEST/installed-package-lock.json  # written last: a failed install is redone
if cmp -s "$HERE/package-lock.json" "$STAMP" && [ -f "$DEST/node_modules/node-vault/package.json" ]; then
  echo "node-vault: already installed in $DEST"
  exit 0
fi
mkdir -p "$DEST"
rm -f "$STAMP"
cp "$HERE/package.json" "$HERE/package-lock.json" "$DEST/"
(cd "$DEST" && npm ci --no-audit --no-fund --loglevel=error)
cp "$HERE/package-lock.json" "$STAMP"
echo "node-vault: installed node-vault $(node -p "require('$DEST/node_modules/node-vault/package.json').version") in $DEST"
