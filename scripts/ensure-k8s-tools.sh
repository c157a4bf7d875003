#!/usr/bin/env bash
# Builds helm from the Go module proxy, once, into a versioned cache, with the Kubernetes version
# stamped in as the release Makefile does. (Schema validation of rendered manifests is done by a
# real kube-apiserver, scripts/ensure-kube-apiserver.sh, rather than by kubeconform, which needs
# downloaded schemas and knows neither our CRDs' CEL rules nor admission.)
# Prints the bin directory. Needs Go >= 1.26 (docs/kubernetes-testing.md#helm-from-go-install).
set -euo pipefail
HELM_VERSION="v3.21.4"
KUBE_MINOR="33"
cache="${STRATA_CACHE_DIR:-$HOME/.cache/strata}"
bin="$cache/k8s-tools/helm-$HELM_VERSION-k8s-1.$KUBE_MINOR/bin"
export GOPATH="$cache/go" GOCACHE="$cache/go-build" GOFLAGS="-trimpath"
command -v go >/dev/null || { echo "ensure-k8s-tools: Go is needed" >&2; exit 1; }
mkdir -p "$bin"
if [ ! -x "$bin/helm" ]; then
  echo "ensure-k8s-tools: building helm $HELM_VERSION" >&2
  GOBIN="$bin" go install -ldflags "\
-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$KUBE_MINOR \
-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$KUBE_MINOR \
-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
fi
echo "$bin"
