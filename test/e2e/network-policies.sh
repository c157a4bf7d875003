#!/usr/bin/env bash
# Asserts the chart's NetworkPolicies from inside the kind cluster: TCP connections tried from the
# probe pods of manifests/probes.yaml and from Strata's own pods, to pod IPs and container ports
# (what NetworkPolicy governs; `kubectl port-forward` would bypass it). Every port expected to be
# blocked from somewhere is also shown open from its legitimate client, so a "blocked" result can
# only mean the policy dropped the connection, never that nothing listens there.
#
#   test/e2e/network-policies.sh      # kubectl on PATH, KUBECONFIG at the cluster (run.sh does it)
set -euo pipefail
ns=${STRATA_E2E_NAMESPACE:-strata}
release=${STRATA_E2E_RELEASE:-strata}
deps_ns=strata-e2e-deps
failed=0

# Runs in the source pod: prints open, refused, timeout or the socket error.
probe='
const [host, port] = process.argv.slice(1);
const socket = require("node:net").connect({ host, port: Number(port), timeout: 3000 });
socket.on("connect", () => { console.log("open"); socket.destroy(); });
socket.on("timeout", () => { console.log("timeout"); socket.destroy(); });
socket.on("error", (e) => console.log(e.code === "ECONNREFUSED" ? "refused" : "error " + e.code));'

strata_pod() { # component: a running pod of the release
  kubectl -n "$ns" get pods --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name}' \
    -l "app.kubernetes.io/instance=$release,app.kubernetes.io/component=$1"
}
ip_of() { # namespace, pod
  kubectl -n "$1" get pod "$2" -o jsonpath='{.status.podIP}'
}

gateway=$(strata_pod gateway)
auth=$(strata_pod auth)
inference=$(strata_pod inference)
metering=$(strata_pod metering)
standins=$(kubectl -n "$deps_ns" get pods -l app.kubernetes.io/name=aws-standins \
  --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name}')
declare -A ip=(
  [gateway]=$(ip_of "$ns" "$gateway") [auth]=$(ip_of "$ns" "$auth")
  [inference]=$(ip_of "$ns" "$inference") [metering]=$(ip_of "$ns" "$metering")
  [standins]=$(ip_of "$deps_ns" "$standins")
)
declare -A port=(
  [gateway:http]=8080 [gateway:metrics]=9464 [auth:grpc]=50051 [auth:grpc-admin]=50052
  [inference:grpc]=50053 [metering:grpc]=50054 [standins:dynamodb]=4567 [standins:bedrock]=4010
)

expect() { # open|blocked, source namespace, source pod, destination (component:port name)
  local want=$1 from_ns=$2 from_pod=$3 to=$4 got
  got=$(kubectl -n "$from_ns" exec "$from_pod" -- node -e "$probe" "${ip[${to%%:*}]}" "${port[$to]}" 2>&1 |
    tail -n 1) || true
  # Anything but the probe's own verdicts (a failed kubectl exec, say) is a failure either way.
  if [[ $want = open && $got = open ]] || [[ $want = blocked && $got =~ ^(timeout|refused|error\ E[A-Z]+)$ ]]; then
    printf 'ok    %-8s %-36s -> %-18s (%s)\n' "$want" "$from_ns/$from_pod" "$to" "$got"
  else
    printf 'FAIL  %-8s %-36s -> %-18s (%s)\n' "$want" "$from_ns/$from_pod" "$to" "$got"
    failed=$((failed + 1))
  fi
}

echo "== a namespace the chart does not know: nothing of Strata (the stand-ins answer it)"
expect open strata-e2e-outside prober standins:dynamodb
for to in gateway:http gateway:metrics auth:grpc auth:grpc-admin inference:grpc metering:grpc; do
  expect blocked strata-e2e-outside prober "$to"
done

echo "== the ingress namespace (networkPolicy.ingressFrom): the gateway's API port only"
expect open strata-e2e-ingress prober gateway:http
for to in gateway:metrics auth:grpc auth:grpc-admin inference:grpc metering:grpc; do
  expect blocked strata-e2e-ingress prober "$to"
done

echo "== Prometheus's namespace (networkPolicy.prometheusFrom): metrics ports only"
expect open monitoring prober gateway:metrics
expect blocked monitoring prober gateway:http

echo "== a pod labelled strata.dev/gateway-client in the release namespace: the gateway only"
expect open "$ns" gateway-client gateway:http
for to in auth:grpc auth:grpc-admin inference:grpc metering:grpc standins:dynamodb; do
  expect blocked "$ns" gateway-client "$to"
done

echo "== an unlabelled pod in the release namespace: nothing (default deny, both ways)"
expect blocked "$ns" stranger gateway:http
expect blocked "$ns" stranger standins:dynamodb

echo "== Strata's own paths, and only those"
expect open "$ns" "$gateway" auth:grpc
expect open "$ns" "$gateway" inference:grpc
expect open "$ns" "$gateway" metering:grpc
expect blocked "$ns" "$gateway" auth:grpc-admin
expect blocked "$ns" "$gateway" standins:dynamodb
expect open "$ns" "$auth" metering:grpc
expect open "$ns" "$inference" standins:bedrock
expect blocked "$ns" "$inference" auth:grpc
expect blocked "$ns" "$metering" inference:grpc

if [ "$failed" -gt 0 ]; then
  echo "network-policies: $failed unexpected result(s)" >&2
  exit 1
fi
echo "network-policies: every path as expected"
