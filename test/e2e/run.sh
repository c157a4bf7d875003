#!/usr/bin/env bash
# The kind end-to-end scenario, the same on a developer's machine and in .github/workflows/e2e.yaml:
#  1. a kind cluster (kind v0.32.0, Kubernetes 1.33 node image pinned by digest; kindnetd enforces
#     NetworkPolicy), the four service images and the AWS stand-ins' image built and loaded;
#  2. dynalite and the Bedrock emulator in the cluster (manifests/deps.yaml), then both charts:
#     strata-crds, and strata with deploy/helm/strata/ci/kind-values.yaml (policies on);
#  3. a tenant and an API key made with the `strata` CLI through a port-forward to auth's admin
#     port, with a random bootstrap admin token whose hash alone is in the cluster;
#  4. the real openai SDKs (Node: smoke.ts; Python: test/integration/python/client_checks.py)
#     through a port-forward to the gateway; usage in the ledger; `helm test`; a key rotation
#     (both keys work) and a revocation (the old key stops);
#  5. the operator: docs/examples' Tenant and ApiKey yield a Secret whose key works; deleting the
#     ApiKey revokes it;
#  6. NetworkPolicy asserted from pods inside the cluster (network-policies.sh).
# On failure, everything that explains it goes to $STRATA_E2E_ARTIFACTS (collect-logs.sh).
#
#   test/e2e/run.sh                       # create the cluster, run, delete the cluster
#   STRATA_E2E_KEEP=1 test/e2e/run.sh     # keep the cluster (and print its kubeconfig)
#   STRATA_E2E_REUSE=1 test/e2e/run.sh    # run again on the existing cluster (implies KEEP)
#
# Environment: STRATA_E2E_CLUSTER (kind cluster name, default strata-e2e), STRATA_E2E_ARTIFACTS
# (default .strata/e2e-artifacts), KUBECTL (a kubectl to use instead of the pinned build).
# Needs Docker, bash >= 4, Go >= 1.26 (kind, helm and kubectl are built once from the Go module
# proxy into ~/.cache/strata) and python3. Never touches ~/.kube/config: the cluster's kubeconfig is private.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$(pwd)

# kindest/node for Kubernetes 1.33, as published with kind v0.32.0 (its release notes list the
# digest; images are only guaranteed with the kind release that built them).
NODE_IMAGE="kindest/node:v1.33.12@sha256:3f5c8443c620245e4d355cfe09e96a91ead32ceaa569d3f1ca9edf0cb2fe2ff4"
cluster=${STRATA_E2E_CLUSTER:-strata-e2e}
artifacts=${STRATA_E2E_ARTIFACTS:-$root/.strata/e2e-artifacts}
reuse=${STRATA_E2E_REUSE:-0}
keep=${STRATA_E2E_KEEP:-$reuse}
ns=strata
tag=e2e

say() { echo "e2e: $*" >&2; }
# Secrets made here are throwaway, but keep them out of CI logs all the same.
mask() { if [ "${GITHUB_ACTIONS:-}" = true ]; then echo "::add-mask::$1"; fi; }
# Reads JSON on stdin and prints the value at a dotted path (fails when it is missing).
json() {
  node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      let v = JSON.parse(s);
      for (const k of process.argv[1].split(".")) v = v?.[k];
      if (v === undefined) process.exit(1);
      process.stdout.write(typeof v === "object" ? JSON.stringify(v) : String(v));
    });' "$1"
}
random() { node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("base64url"))'; }
sha256() { node -e 'process.stdout.write(require("node:crypto").createHash("sha256").update(require("node:fs").readFileSync(0)).digest("hex"))'; }

docker info >/dev/null 2>&1 || { say "a running Docker engine is needed (the images and kind's nodes are containers)"; exit 1; }
work=$(mktemp -d)
export KUBECONFIG="$work/kubeconfig"
created=false
pids=()
cleanup() {
  local status=$?
  for pid in ${pids[@]+"${pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
  if [ "$status" -ne 0 ] && [ -s "$KUBECONFIG" ]; then
    say "FAILED (exit $status): collecting logs into $artifacts"
    test/e2e/collect-logs.sh "$artifacts" "$cluster" || true
  fi
  if [ "$created" = true ] && [ "$keep" != 1 ]; then
    kind delete cluster --name "$cluster" >&2 || true
  fi
  if [ "$keep" = 1 ]; then
    say "cluster kept: export KUBECONFIG=$KUBECONFIG   (kind delete cluster --name $cluster)"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT

mkdir -p "$work/bin"
node_bin=$(scripts/ensure-node.sh)
kind_bin=$(scripts/ensure-ci-tools.sh kind)
helm_bin=$(scripts/ensure-k8s-tools.sh)
if [ -n "${KUBECTL:-}" ]; then
  kubectl_bin=$(command -v "$KUBECTL")
else
  kubectl_bin="$(scripts/ensure-kube-apiserver.sh --kubectl-only)/kubectl"
fi
ln -s "$kubectl_bin" "$work/bin/kubectl"
export PATH="$work/bin:$node_bin:$kind_bin:$helm_bin:$PATH"
[ -d node_modules/openai ] || scripts/npm install --no-audit --no-fund

# Forwards a local ephemeral port to a Service's port; sets REPLY to the local port.
port_forward() { # namespace, service, port
  local log="$work/port-forward-$2-$3.log" port
  kubectl -n "$1" port-forward "svc/$2" ":$3" >"$log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do
    port=$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+) .*/\1/p' "$log" | head -n 1)
    if [ -n "$port" ]; then REPLY=$port; return 0; fi
    kill -0 "$!" 2>/dev/null || break
    sleep 0.2
  done
  cat "$log" >&2
  return 1
}

say "1/5 cluster $cluster"
if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  [ "$reuse" = 1 ] || { say "a kind cluster named $cluster exists: delete it, or set STRATA_E2E_REUSE=1"; exit 1; }
  kind export kubeconfig --name "$cluster" --kubeconfig "$KUBECONFIG" >&2
else
  created=true
  kind create cluster --name "$cluster" --image "$NODE_IMAGE" --config test/e2e/kind-config.yaml \
    --kubeconfig "$KUBECONFIG" --wait 180s >&2
fi
scripts/build-images.sh --tag "$tag" --kind "$cluster" >&2
docker build -f test/e2e/Dockerfile -t "strata-e2e-deps:$tag" . >&2
kind load docker-image "strata-e2e-deps:$tag" --name "$cluster" >&2

say "2/5 AWS stand-ins and the charts"
kubectl apply -f test/e2e/manifests/deps.yaml >&2
kubectl -n strata-e2e-deps rollout status deploy/aws-standins --timeout 180s >&2
admin_token=$(random)
mask "$admin_token"
printf '%s' "$admin_token" | sha256 >"$work/admin-token-sha256"
random >"$work/key-pepper"
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >&2
kubectl -n "$ns" create secret generic strata-e2e-auth --dry-run=client -o yaml \
  --from-file=admin-token-sha256="$work/admin-token-sha256" --from-file=key-pepper="$work/key-pepper" |
  kubectl apply -f - >&2
printf '%s' "$admin_token" >"$work/admin-token"
kubectl -n "$ns" create secret generic strata-e2e-operator --dry-run=client -o yaml \
  --from-file=admin-token="$work/admin-token" | kubectl apply -f - >&2
rm -f "$work/admin-token"
helm upgrade --install strata-crds deploy/helm/strata-crds --wait --timeout 2m >&2
helm upgrade --install strata deploy/helm/strata -n "$ns" -f deploy/helm/strata/ci/kind-values.yaml \
  --wait --timeout 6m >&2
if [ "$created" = false ]; then
  # A kept cluster: restart everything on the images just loaded (tag e2e, never pulled) and the
  # new admin token; the stand-ins first, since their data is in memory and services create tables
  # at start.
  kubectl -n strata-e2e-deps rollout restart deploy/aws-standins >&2
  kubectl -n strata-e2e-deps rollout status deploy/aws-standins --timeout 180s >&2
  kubectl -n "$ns" rollout restart deploy -l app.kubernetes.io/instance=strata >&2
  for deployment in $(kubectl -n "$ns" get deploy -l app.kubernetes.io/instance=strata -o name); do
    kubectl -n "$ns" rollout status "$deployment" --timeout 300s >&2
  done
fi
kubectl apply -f test/e2e/manifests/probes.yaml >&2

say "3/5 a tenant and an API key with the strata CLI (port-forward to auth's admin port)"
port_forward "$ns" strata-auth 50052
export STRATA_ADMIN_URL="http://127.0.0.1:$REPLY" STRATA_ADMIN_TOKEN="$admin_token"
strata() { node packages/cli/bin/strata.js "$@"; }
tenant="e2e-$(date +%s)"
strata tenants create "$tenant" --name "kind e2e" >&2
created_key=$(strata keys create --tenant "$tenant" --name e2e --ttl-days 7 --json)
api_key=$(json secret <<<"$created_key")
key_id=$(json key.keyId <<<"$created_key")
mask "$api_key"
printf '%s' "$api_key" >"$work/api-key"
kubectl -n "$ns" create secret generic strata-e2e-api-key --from-file=api-key="$work/api-key" \
  --dry-run=client -o yaml | kubectl apply -f - >&2

say "4/5 the openai SDKs through the gateway"
port_forward "$ns" strata-gateway 8080
export STRATA_BASE_URL="http://127.0.0.1:$REPLY/v1"
STRATA_API_KEY="$api_key" STRATA_SMOKE_EMULATOR=1 STRATA_SMOKE_EMBEDDING_MODEL=titan-embed-text-v2 \
  node test/e2e/smoke.ts
python=$(scripts/ensure-python-openai.sh)
STRATA_API_KEY="$api_key" "$python" test/integration/python/client_checks.py >"$work/python.json"
node -e '
  const seen = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  const checks = {
    "chat": seen.chat?.finish_reason === "stop",
    "stream": seen.stream?.finish?.[0] === "stop" && seen.stream.completion_tokens > 0,
    "tool call": seen.tools?.name === "get_weather",
    "embeddings": seen.embeddings?.count === 2,
    "401 AuthenticationError": seen.errors?.bad_key?.status === 401,
    "429 RateLimitError": seen.errors?.throttled?.class === "RateLimitError",
    "mid-stream error raised": seen.mid_stream?.class === "APIError",
  };
  for (const [what, ok] of Object.entries(checks)) console.log("python: " + (ok ? "ok " : "FAIL ") + what);
  process.exit(Object.values(checks).every(Boolean) ? 0 : 1);' "$work/python.json"

# Metering writes the ledger (dynalite) about every second; auth's admin plane reads it back.
for attempt in $(seq 1 30); do
  requests=$(strata usage --tenant "$tenant" --json |
    node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log((JSON.parse(s).summaries??[]).reduce((n,x)=>n+Number(x.requests??0),0)))')
  [ "$requests" -gt 0 ] && break
  [ "$attempt" -lt 30 ] || { say "no usage recorded for tenant $tenant"; exit 1; }
  sleep 1
done
say "usage ledger: $requests requests for tenant $tenant"

helm test strata -n "$ns" --logs --timeout 3m >&2

# What .github/workflows/rotate-keys.yaml relies on: after a rotation both keys work (overlap),
# and a revoked key stops working within seconds everywhere.
status_with() { # key: HTTP status of GET /v1/models
  KEY="$1" node -e '
    const headers = { authorization: "Bearer " + process.env.KEY };
    fetch(process.env.STRATA_BASE_URL + "/models", { headers }).then((r) => console.log(r.status));'
}
rotated=$(strata keys rotate "$key_id" --overlap-days 1 --json)
new_key=$(json secret <<<"$rotated")
mask "$new_key"
if [ "$(status_with "$api_key")" != 200 ] || [ "$(status_with "$new_key")" != 200 ]; then
  say "after a rotation both keys must work"
  exit 1
fi
strata keys revoke "$key_id" >&2
for attempt in $(seq 1 20); do
  [ "$(status_with "$api_key")" = 401 ] && break
  [ "$attempt" -lt 20 ] || { say "a revoked key still works after 10 s"; exit 1; }
  sleep 0.5
done
[ "$(status_with "$new_key")" = 200 ] || { say "the rotated key stopped working"; exit 1; }
say "rotation and revocation: ok"

say "operator: a Tenant and an ApiKey from docs/examples, the key delivered into a Secret"
kubectl create namespace team-a --dry-run=client -o yaml | kubectl apply -f - >&2
kubectl apply -f docs/examples/tenant.yaml -f docs/examples/apikey.yaml >&2
kubectl wait --for=condition=Ready --timeout=120s tenant/acme >&2
kubectl wait --for=condition=Ready --timeout=120s -n team-a apikey/chatbot >&2
operator_key=$(kubectl -n team-a get secret chatbot-openai -o jsonpath='{.data.api-key}' | base64 -d)
mask "$operator_key"
[ "$(status_with "$operator_key")" = 200 ] || { say "the operator's key does not work"; exit 1; }
STRATA_API_KEY="$operator_key" STRATA_SMOKE_EMULATOR=1 STRATA_SMOKE_MODEL=claude-3-haiku node test/e2e/smoke.ts
kubectl delete -n team-a apikey/chatbot --wait --timeout 60s >&2
for attempt in $(seq 1 20); do
  [ "$(status_with "$operator_key")" = 401 ] && break
  [ "$attempt" -lt 20 ] || { say "the deleted ApiKey's key still works after 10 s"; exit 1; }
  sleep 0.5
done
say "operator: ok"

say "5/5 NetworkPolicy, from inside the cluster"
kubectl wait --for=condition=Ready --timeout=120s -n strata-e2e-outside pod/prober >&2
kubectl wait --for=condition=Ready --timeout=120s -n strata-e2e-ingress pod/prober >&2
kubectl wait --for=condition=Ready --timeout=120s -n monitoring pod/prober >&2
kubectl wait --for=condition=Ready --timeout=120s -n "$ns" pod/gateway-client pod/stranger >&2
STRATA_E2E_NAMESPACE="$ns" test/e2e/network-policies.sh

say "passed"
