#!/usr/bin/env bash
# Makes sure the system test tier's tools are on this machine: redis-server (the shared limit
# store of several metering replicas), prometheus, and etcd (the store under the self-built
# kube-apiserver of scripts/ensure-kube-apiserver.sh). Idempotent: installs only what is missing,
# with apt-get (Debian's packages), and says what it did. Exits non-zero, with the reason, when a
# tool is missing and cannot be installed (no apt-get, not root and no sudo, apt failed).
#
#   scripts/ensure-system-tools.sh            # redis-server, prometheus and etcd
#   scripts/ensure-system-tools.sh redis      # only the named tools (redis, prometheus, etcd)
set -euo pipefail

say() { echo "ensure-system-tools: $*" >&2; }

# tool name -> the command it provides and the Debian package that installs it
declare -A command_of=([redis]=redis-server [prometheus]=prometheus [etcd]=etcd)
declare -A package_of=([redis]=redis-server [prometheus]=prometheus [etcd]=etcd-server)

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(redis prometheus etcd)

missing=()
for tool in "${wanted[@]}"; do
  cmd=${command_of[$tool]:-}
  if [ -z "$cmd" ]; then
    say "unknown tool '$tool' (known: ${!command_of[*]})"
    exit 2
  fi
  if command -v "$cmd" >/dev/null 2>&1; then
    say "$cmd already installed: $(command -v "$cmd")"
  else
    missing+=("${package_of[$tool]}")
  fi
done
[ ${#missing[@]} -gt 0 ] || exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  say "missing ${missing[*]} and apt-get is not available: install them with your package manager"
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    say "missing ${missing[*]}: installing needs root (or passwordless sudo)"
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
say "installing ${missing[*]} with apt-get"
# A fresh machine has no package lists yet; refresh them once when the package is unknown.
if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
  say "refreshing the package lists (apt-get update)"
  "${sudo[@]}" apt-get update -qq >&2 || { say "apt-get update failed"; exit 1; }
fi
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
  say "apt-get install ${missing[*]} failed"
  exit 1
fi

for tool in "${wanted[@]}"; do
  cmd=${command_of[$tool]}
  command -v "$cmd" >/dev/null 2>&1 || { say "$cmd still not on PATH after installing"; exit 1; }
  say "installed $cmd: $(command -v "$cmd")"
done
