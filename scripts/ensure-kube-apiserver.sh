#!/usr/bin/env bash
# Builds kube-apiserver and kubectl from the Go module proxy, once, into a versioned cache, and
# prints the bin directory (logs go to stderr). The version and every dependency are pinned by the
# wrapper module tools/kube (go.mod, go.sum; regenerate with tools/kube/generate-go-mod.sh), which
# requires k8s.io/kubernetes and maps its staging modules to their published tags
# (docs/kubernetes-testing.md#kube-apiserver-and-kubectl-from-a-wrapper-module). The binaries are
# stamped with the release version, as upstream's hack/lib/version.sh does, so /version and
# kubectl report it. etcd comes from Debian (scripts/ensure-system-tools.sh etcd). Needs Go >= 1.24;
# a cold build takes minutes.
#   scripts/ensure-kube-apiserver.sh [--kubectl-only]   (--kubectl-only: clients that need no server)
set -euo pipefail
kubectl_only=false
[ "${1:-}" = "--kubectl-only" ] && kubectl_only=true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module="$root/tools/kube"
say() { echo "ensure-kube-apiserver: $*" >&2; }

version=$(sed -nE 's#^[[:space:]]*k8s\.io/kubernetes (v1\.[0-9]+\.[0-9]+)( // indirect)?$#\1#p' "$module/go.mod")
[[ $version =~ ^v1\.([0-9]+)\.[0-9]+$ ]] || { say "no k8s.io/kubernetes version in $module/go.mod"; exit 1; }
minor=${BASH_REMATCH[1]}

cache="${STRATA_CACHE_DIR:-$HOME/.cache/strata}"
bin="$cache/kube/$version/bin"
# The same module and build caches as scripts/ensure-k8s-tools.sh, so shared modules download once.
export GOPATH="$cache/go" GOCACHE="$cache/go-build" GOFLAGS="-trimpath -buildvcs=false -mod=readonly"
export CGO_ENABLED=0 GOWORK=off
command -v go >/dev/null || { say "Go is needed"; exit 1; }
mkdir -p "$bin"

# One build at a time per cache (two test runs may ask at once).
exec 9>"$cache/kube/.lock"
command -v flock >/dev/null && flock 9

ldflags="-s -w"
for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $package.gitVersion=$version -X $package.gitMajor=1 -X $package.gitMinor=$minor"
  ldflags+=" -X $package.gitTreeState=clean"
done

build() { # name, package: go build into a temporary name, then rename, so no half-written binary stays
  [ -x "$bin/$1" ] && return
  say "building $1 $version (a cold build takes several minutes)"
  local started=$SECONDS
  (cd "$module" && go build -tags grpcnotrace -ldflags "$ldflags" -o "$bin/.$1.partial" "$2") >&2
  mv "$bin/.$1.partial" "$bin/$1"
  say "built $1 in $((SECONDS - started)) s: $bin/$1"
}
$kubectl_only || build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kubectl ./kubectl
echo "$bin"
