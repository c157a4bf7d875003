#!/usr/bin/env bash
# Prints the path of a Python interpreter that has the official `openai` Python SDK, for the
# integration tests' second real client: a virtualenv under ~/.cache/strata, created once, with
# every package pinned in test/integration/python/requirements.txt.
set -euo pipefail
requirements="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/test/integration/python/requirements.txt"
pin=$(sha256sum "$requirements" | cut -c1-12)
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "ensure-python-openai: python3 is needed" >&2; exit 1; }
venv="${STRATA_CACHE_DIR:-$HOME/.cache/strata}/py-openai-$pin"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import openai" 2>/dev/null; then
  echo "ensure-python-openai: installing $requirements into $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements" >&2
fi
echo "$venv/bin/python"
