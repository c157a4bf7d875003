#!/usr/bin/env bash
# Prints the bin directory of a virtualenv that has the LiteLLM proxy, for the side-by-side
# benchmark (bench/run.ts). The virtualenv lives under ${STRATA_CACHE_DIR:-~/.cache/strata}, is
# named after a hash of the pinned requirements (bench/peers/litellm-requirements.txt: exact
# versions plus their full resolved dependency set), is created once, and is installed with
# --no-deps so nothing unpinned is pulled in. About 750 MB and a few minutes the first time.
# Portkey, the other peer, is an npm devDependency (@portkey-ai/gateway) and needs nothing here.
#
#   scripts/ensure-bench-peers.sh           install if missing, then print the bin directory
#   scripts/ensure-bench-peers.sh --check   print it only if already installed; exit 1 otherwise
set -euo pipefail
requirements="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bench/peers/litellm-requirements.txt"
pin=$(sha256sum "$requirements" | cut -c1-12)
venv="${STRATA_CACHE_DIR:-$HOME/.cache/strata}/py-litellm-$pin"
ready() {
  [ -x "$venv/bin/litellm" ] && [ -f "$venv/.complete" ]
}
if [ "${1:-}" = "--check" ]; then
  ready || exit 1
  echo "$venv/bin"
  exit 0
fi
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "ensure-bench-peers: python3 is needed" >&2; exit 1; }
if ! ready; then
  echo "ensure-bench-peers: installing $requirements into $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements" >&2
  "$venv/bin/python" -m pip check >&2
  touch "$venv/.complete"
fi
echo "$venv/bin"
