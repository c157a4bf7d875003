#!/usr/bin/env bash
# Deploys a released version to the EKS cluster of one environment (.github/workflows/deploy.yaml):
# both charts from the registry (OCI), every image pinned by the digest the release pushed, the
# environment's values, `--atomic` (a failed rollout rolls back by itself), then `helm test`.
# Environment: VERSION, REGISTRY (ECR registry host), CLUSTER, NAMESPACE, HELM_VALUES (YAML);
# AWS credentials for the environment's deploy role (GitHub OIDC) already configured.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${VERSION:?}" "${REGISTRY:?}" "${CLUSTER:?}" "${NAMESPACE:?}" "${HELM_VALUES:?}"
work=${RUNNER_TEMP:-$(mktemp -d)}
helm_bin=$(scripts/ensure-k8s-tools.sh)
export PATH="$helm_bin:$PATH" KUBECONFIG="$work/kubeconfig"
aws eks update-kubeconfig --name "$CLUSTER" --kubeconfig "$KUBECONFIG"
aws ecr get-login-password | helm registry login --username AWS --password-stdin "$REGISTRY"
printf '%s\n' "$HELM_VALUES" >"$work/values.yaml"

# The digest of each component's image for this version: what runs is exactly what was released,
# even if a tag were pushed again.
digests=()
for component in gateway auth inference metering operator; do
  digest=$(aws ecr describe-images --repository-name "strata-$component" \
    --image-ids imageTag="$VERSION" --query 'imageDetails[0].imageDigest' --output text)
  [[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "no image strata-$component:$VERSION" >&2; exit 1; }
  digests+=(--set-string "$component.image.digest=$digest")
done

helm upgrade --install strata-crds "oci://$REGISTRY/charts/strata-crds" --version "$VERSION" \
  --atomic --wait --timeout 5m
helm upgrade --install strata "oci://$REGISTRY/charts/strata" --version "$VERSION" \
  --namespace "$NAMESPACE" --values "$work/values.yaml" \
  --set-string image.registry="$REGISTRY" --set-string image.tag="$VERSION" "${digests[@]}" \
  --atomic --wait --timeout 10m
helm test strata --namespace "$NAMESPACE" --logs --timeout 5m
