#!/usr/bin/env bash
# Prints the bin directory of a virtualenv that has cfn-lint and checkov, for linting and scanning
# the CloudFormation template in deploy/iam (test/system/iam.test.ts, CI). The virtualenv lives
# under ${STRATA_CACHE_DIR:-~/.cache/strata}, is named after a hash of the pinned requirements
# (deploy/iam/requirements-tools.txt: exact versions plus their full resolved dependency set), is
# created once, and is installed with --no-deps so nothing unpinned is pulled in.
set -euo pipefail
requirements="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/deploy/iam/requirements-tools.txt"
pin=$(sha256sum "$requirements" | cut -c1-12)
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "ensure-python-tools: python3 is needed" >&2; exit 1; }
venv="${STRATA_CACHE_DIR:-$HOME/.cache/strata}/py-tools-$pin"
ready() {
  [ -x "$venv/bin/cfn-lint" ] && [ -x "$venv/bin/checkov" ] && [ -f "$venv/.complete" ]
}
if ! ready; then
  echo "ensure-python-tools: installing $requirements into $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements" >&2
  "$venv/bin/python" -m pip check >&2
  touch "$venv/.complete"
fi
echo "$venv/bin"
