#!/usr/bin/env bash
# Collects what explains a failed e2e run into a directory (the e2e workflow uploads it): nodes,
# every object but Secrets, NetworkPolicies in full, events, `kubectl describe` and the logs
# (current and previous) of every pod in every namespace, Helm's view of the releases, and the
# nodes' own logs from `kind export logs`. Never a Secret's data. Best effort: a failing command
# leaves its error in the file and the collection goes on.
#
#   test/e2e/collect-logs.sh DIR [KIND_CLUSTER]   # kubectl, helm, kind on PATH; KUBECONFIG set
set -uo pipefail
out=${1:?usage: collect-logs.sh DIR [KIND_CLUSTER]}
cluster=${2:-}
mkdir -p "$out/logs"

kubectl get nodes -o wide >"$out/nodes.txt" 2>&1
kubectl get all,networkpolicies,configmaps,serviceaccounts,poddisruptionbudgets -A -o wide \
  >"$out/resources.txt" 2>&1
kubectl get networkpolicies -A -o yaml >"$out/networkpolicies.yaml" 2>&1
kubectl get events -A --sort-by=.lastTimestamp >"$out/events.txt" 2>&1
kubectl describe pods -A >"$out/pods-describe.txt" 2>&1

kubectl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}{" "}{.metadata.name}{"\n"}{end}' |
  while read -r namespace pod; do
    kubectl -n "$namespace" logs "$pod" --all-containers --prefix --timestamps \
      >"$out/logs/$namespace.$pod.log" 2>&1
    kubectl -n "$namespace" logs "$pod" --all-containers --prefix --timestamps --previous \
      >"$out/logs/$namespace.$pod.previous.log" 2>/dev/null || rm -f "$out/logs/$namespace.$pod.previous.log"
  done

{
  helm list -A
  helm status strata -n strata --show-resources
  helm history strata -n strata
} >"$out/helm.txt" 2>&1

if [ -n "$cluster" ]; then
  kind export logs "$out/kind" --name "$cluster" >"$out/kind-export.txt" 2>&1
fi
echo "e2e: logs collected in $out" >&2
