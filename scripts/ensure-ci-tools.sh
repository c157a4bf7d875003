#!/usr/bin/env bash
# Makes the CI tools available and prints their bin directory (logs go to stderr):
# - actionlint, built once from the Go module proxy into a versioned cache (its go.mod has no
#   replace directive, so `go install module@version` builds exactly that release);
# - ShellCheck, Debian's package, installed with apt-get only when missing: actionlint runs it
#   on every `run:` script and silently skips that check when it is absent, so it is linked into
#   the bin directory for actionlint to find;
# - kind, built like actionlint, only when asked (test/e2e/run.sh).
#
#   scripts/ensure-ci-tools.sh                 # actionlint and shellcheck
#   scripts/ensure-ci-tools.sh kind            # only the named tools (actionlint, shellcheck, kind)
#
# The same module and build caches as scripts/ensure-k8s-tools.sh. Needs Go >= 1.25.
set -euo pipefail
ACTIONLINT_VERSION="v1.7.12"
# kind v0.32.0 is the newest release that publishes a Kubernetes 1.33 node image (v0.33.0 starts at
# 1.34); kindnetd enforces NetworkPolicy since v0.24.0. The node image is pinned in test/e2e/run.sh.
KIND_VERSION="v0.32.0"

say() { echo "ensure-ci-tools: $*" >&2; }
cache="${STRATA_CACHE_DIR:-$HOME/.cache/strata}"
bin="$cache/ci-tools/actionlint-$ACTIONLINT_VERSION-kind-$KIND_VERSION/bin"
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(actionlint shellcheck)

go_install() { # name, module path of the main package, version
  [ -x "$bin/$1" ] && return
  command -v go >/dev/null || { say "Go is needed to build $1"; exit 1; }
  mkdir -p "$bin"
  # One build at a time per cache (two test runs may ask at once).
  exec 9>"$cache/ci-tools/.lock"
  if command -v flock >/dev/null; then flock 9; fi
  [ -x "$bin/$1" ] && return
  say "building $1 $3 from the Go module proxy"
  local started=$SECONDS
  GOPATH="$cache/go" GOCACHE="$cache/go-build" GOFLAGS="-trimpath" CGO_ENABLED=0 \
    GOBIN="$bin" go install -ldflags "-s -w" "$2@$3" >&2
  say "built $1 in $((SECONDS - started)) s: $bin/$1"
}

ensure_shellcheck() {
  if ! command -v shellcheck >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || { say "shellcheck is missing and apt-get is not available"; exit 1; }
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
      else
        say "shellcheck is missing: installing it needs root (or passwordless sudo)"
        exit 1
      fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    say "installing shellcheck with apt-get"
    if ! apt-cache show shellcheck >/dev/null 2>&1; then
      "${sudo[@]}" apt-get update -qq >&2 || { say "apt-get update failed"; exit 1; }
    fi
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends shellcheck >&2 ||
      { say "apt-get install shellcheck failed"; exit 1; }
  fi
  mkdir -p "$bin"
  ln -sfn "$(command -v shellcheck)" "$bin/shellcheck"
}

for tool in "${wanted[@]}"; do
  case "$tool" in
    actionlint) go_install actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION" ;;
    kind) go_install kind sigs.k8s.io/kind "$KIND_VERSION" ;;
    shellcheck) ensure_shellcheck ;;
    *) say "unknown tool '$tool' (known: actionlint, shellcheck, kind)"; exit 2 ;;
  esac
done
echo "$bin"
