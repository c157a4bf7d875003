import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Stack, startStack } from "@strata/devstack";
import { bearerAuth, createRpcClient, createRpcTransport } from "@strata/platform";
import {
  AuthAdminService,
  BudgetPeriod,
  KeyStatus,
  SecretsMode,
  TenantStatus,
} from "@strata/proto";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { applyServerSide, helmTemplate, type Kube, startKube } from "./support/kube.ts";
import {
  eventually,
  metricValue,
  type OperatorProcess,
  scrape,
  startOperator,
} from "./support/operator.ts";
import { startTcpRelay, type TcpRelay } from "./support/tcp-relay.ts";

// The operator (services/operator) against a real kube-apiserver and etcd, with the CRDs from the
// strata-crds chart and the operator's RBAC from the strata chart (it runs as the chart's service
// account, through a token the API server issued: any call its RBAC does not grant would fail),
// a full local Strata stack (auth, metering, inference, gateway, emulator, dynalite), and two
// operator replicas competing for the Lease. The Tenant and ApiKey come from docs/examples, the
// onboarding guide's examples. Keys are used through the gateway with the real openai SDK.
//
// Timing: the test-only STRATA_ROTATION_DAY_SECONDS makes a "day" 3 seconds, so the example's
// weekly rotation with a 2-day overlap happens every 21 s with a 6 s overlap.
const run = promisify(execFile);
const DAY_SECONDS = 3;
const LEASE = { durationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };

let kube: Kube;
let stack: Stack;
let dir: string;
let admin: ReturnType<typeof adminClient>;
let operatorEnv: Record<string, string>;
// Between the operators and the API server (TLS passes through untouched), so a test can cut
// every connection at once, as a dropped network or an apiserver restart would.
let relay: TcpRelay;
const replicas: Record<string, OperatorProcess> = {};
/** Every key seen in clear during the run: none may appear in status, events or logs. */
const seenKeys = new Set<string>();

const examples = "docs/examples";
const example = (file: string) => readFileSync(join(examples, file), "utf8");

function adminClient(url: string, token: string) {
  return createRpcClient(
    AuthAdminService,
    createRpcTransport({ baseUrl: url, interceptors: [bearerAuth(token)] }),
  );
}

async function kubectlJson<T>(...args: string[]): Promise<T | undefined> {
  const result = await kube.kubectl(["get", ...args, "-o", "json"]);
  if (result.code !== 0) {
    if (result.stderr.includes("NotFound")) return undefined;
    throw new Error(result.stderr);
  }
  return JSON.parse(result.stdout) as T;
}

async function kubectl(...args: string[]): Promise<string> {
  const result = await kube.kubectl(args);
  if (result.code !== 0) throw new Error(result.stderr);
  return result.stdout;
}

type Condition = { type: string; status: string; reason: string; message: string };
type ApiKeyObject = {
  metadata: { name: string; namespace: string; uid: string; finalizers?: string[] };
  status?: {
    keyId?: string;
    previousKeyId?: string;
    createdAt?: string;
    expiresAt?: string;
    rotatedAt?: string;
    observedGeneration?: number;
    conditions?: Condition[];
  };
};
type SecretObject = {
  metadata: {
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ kind: string; name: string; uid: string; controller?: boolean }>;
  };
  data?: Record<string, string>;
};

const condition = (obj: { status?: { conditions?: Condition[] } } | undefined, type: string) =>
  obj?.status?.conditions?.find((c) => c.type === type);
const apiKey = (ns: string, name: string) => kubectlJson<ApiKeyObject>("apikey", name, "-n", ns);
const secret = (ns: string, name: string) => kubectlJson<SecretObject>("secret", name, "-n", ns);
const decode = (value: string | undefined) => Buffer.from(value ?? "", "base64").toString("utf8");

/** The key in a Secret, remembered for the leak checks. */
async function keyIn(ns: string, name: string) {
  const s = await secret(ns, name);
  if (!s?.data?.["api-key"]) return undefined;
  const key = decode(s.data["api-key"]);
  seenKeys.add(key);
  return { key, keyId: decode(s.data["key-id"]), baseUrl: decode(s.data["base-url"]), secret: s };
}

/** Whether a key is accepted by the gateway (a chat completion through the openai SDK). */
/** How soon a revoked key is refused by every gateway, as the README and the security docs promise. */
const revocationBoundMs = 1_000;

async function works(key: string, model = "claude-3-haiku"): Promise<boolean> {
  const client = new OpenAI({ apiKey: key, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
  try {
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Say hello" }],
      max_tokens: 16,
    });
    expect(completion.choices[0]?.message.content).toBeTruthy();
    return true;
  } catch (error) {
    if (error instanceof OpenAI.AuthenticationError) return false;
    throw error;
  }
}

/** The example ApiKey with some fields changed (same YAML, another name or namespace). */
type ApiKeyDoc = {
  metadata: { name: string; namespace: string };
  spec: { secretName: string; displayName?: string; expiresAfterDays?: number; rotation?: object };
};
function apiKeyYaml(change: (doc: ApiKeyDoc) => void): string {
  const doc = parse(example("apikey.yaml")) as ApiKeyDoc;
  change(doc);
  return stringify(doc);
}

async function leaderOf(): Promise<string> {
  const lease = await kubectlJson<{ spec: { holderIdentity?: string } }>(
    "lease",
    "strata-operator",
    "-n",
    "strata",
  );
  return lease?.spec.holderIdentity ?? "";
}

async function startReplica(name: string): Promise<OperatorProcess> {
  const op = await startOperator(
    { ...operatorEnv, POD_NAME: `operator-${name}` },
    join(dir, `operator-${name}.log`),
  );
  replicas[name] = op;
  return op;
}

beforeAll(async () => {
  const [tools, kubeBin] = await Promise.all([
    run("scripts/ensure-k8s-tools.sh", [], { timeout: 1_800_000 }),
    run("scripts/ensure-kube-apiserver.sh", [], { timeout: 1_800_000 }),
  ]);
  const helm = `${tools.stdout.trim()}/helm`;
  dir = mkdtempSync(join(tmpdir(), "strata-operator-"));
  kube = await startKube({ bin: kubeBin.stdout.trim() });
  await applyServerSide(kube, await helmTemplate(helm, "deploy/helm/strata-crds", {}));
  await kubectl(
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/tenants.strata.dev",
    "crd/apikeys.strata.dev",
  );
  for (const ns of ["strata", "team-a", "team-b"]) await kubectl("create", "namespace", ns);

  // The operator's identity and RBAC exactly as the strata chart renders them.
  const chart = await helmTemplate(helm, "deploy/helm/strata", {
    release: "s",
    namespace: "strata",
    args: [
      "--set",
      "operator.enabled=true",
      "--set",
      "operator.adminTokenSecret=operator-admin-token",
      "--set",
      "operator.watchNamespaces={team-a,team-b}",
    ],
  });
  const rbacKinds = new Set([
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
  ]);
  const rbac = parseAllDocuments(chart)
    .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } })
    .filter(
      (o) => o && rbacKinds.has(o.kind ?? "") && o.metadata?.name?.startsWith("s-strata-operator"),
    );
  expect(rbac.map((o) => o.kind).sort()).toEqual([
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "Role",
    "Role",
    "RoleBinding",
    "RoleBinding",
    "RoleBinding",
    "ServiceAccount",
  ]);
  await applyServerSide(kube, rbac.map((o) => stringify(o)).join("---\n"));
  const token = (
    await kubectl("create", "token", "s-strata-operator", "-n", "strata", "--duration=3h")
  ).trim();
  relay = await startTcpRelay(Number(new URL(kube.server).port));
  const kubeconfig = join(dir, "operator-kubeconfig");
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "t",
          cluster: {
            server: `https://127.0.0.1:${relay.port}`,
            "certificate-authority": kube.caFile,
          },
        },
      ],
      users: [{ name: "operator", user: { token } }],
      contexts: [{ name: "t", context: { cluster: "t", user: "operator" } }],
      "current-context": "t",
    }),
    { mode: 0o600 },
  );

  stack = await startStack({ logFile: join(dir, "stack.log"), logLevel: "info" });
  admin = adminClient(stack.adminUrl, stack.adminToken);
  const tokenFile = join(dir, "admin-token");
  writeFileSync(tokenFile, `${stack.adminToken}\n`);
  chmodSync(tokenFile, 0o600);
  operatorEnv = {
    KUBECONFIG: kubeconfig,
    STRATA_ADMIN_URL: stack.adminUrl,
    STRATA_ADMIN_TOKEN_FILE: tokenFile,
    STRATA_WATCH_NAMESPACES: "team-a,team-b",
    STRATA_LEASE_NAMESPACE: "strata",
    STRATA_LEASE_NAME: "strata-operator",
    STRATA_LEASE_DURATION_MS: String(LEASE.durationMs),
    STRATA_LEASE_RENEW_DEADLINE_MS: String(LEASE.renewDeadlineMs),
    STRATA_LEASE_RETRY_PERIOD_MS: String(LEASE.retryPeriodMs),
    STRATA_RESYNC_MS: "3000",
    STRATA_USAGE_REFRESH_MS: "2000",
    STRATA_RETRY_BASE_MS: "200",
    STRATA_RETRY_MAX_MS: "5000",
    STRATA_GATEWAY_BASE_URL: `${stack.gatewayUrl}/v1`,
    STRATA_ROTATION_DAY_SECONDS: String(DAY_SECONDS),
    STRATA_LOG_LEVEL: "debug",
    STRATA_METRICS_PORT: "0",
    STRATA_SHUTDOWN_GRACE_MS: "10000",
  };
  // Replica a starts first and leads; b is the standby.
  const a = await startReplica("a");
  await eventually(async () => metricValue(await scrape(a), "strata_operator_leader") === 1, {
    what: "replica a leading",
  });
  await startReplica("b");
}, 1_800_000);

afterAll(async () => {
  for (const op of Object.values(replicas)) await op.stop("SIGKILL");
  await stack?.stop();
  await relay?.close();
  await kube?.stop();
  // STRATA_KEEP_TEST_DIR=1 keeps the operators' and the stack's logs for a post-mortem.
  if (dir && !process.env.STRATA_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
  else if (dir) console.info(`logs kept in ${dir}`);
});

describe("the operator: Tenant", () => {
  it("creates the example Tenant in auth with its policy, and reports it Ready", async () => {
    await applyServerSide(kube, example("tenant.yaml"));
    const tenant = await eventually(
      async () => (await admin.getTenant({ tenantId: "acme" })).tenant,
      { what: "tenant acme in auth" },
    );
    expect(tenant.displayName).toBe("ACME Corp");
    expect(tenant.status).toBe(TenantStatus.ACTIVE);
    const p = tenant.policy;
    expect(p?.allowedModels).toEqual([
      "claude-*",
      "anthropic.claude-*",
      "amazon.titan-embed-*",
      "titan-embed-*",
    ]);
    expect(p?.allowedEndpoints).toEqual(["chat.completions", "embeddings", "models"]);
    expect(p?.allowedRegions).toEqual(["us"]);
    expect(p?.secrets).toBe(SecretsMode.BLOCK);
    expect(p?.toolPolicy?.enforced).toBe(true);
    expect(p?.toolPolicy?.allowed.map((r) => r.name)).toEqual(["get_weather", "search_*"]);
    expect(JSON.parse(p?.toolPolicy?.allowed[0]?.argumentsSchemaJson ?? "")).toEqual({
      type: "object",
      required: ["city"],
      properties: { city: { type: "string", maxLength: 100 } },
      additionalProperties: false,
    });
    expect(p?.limits?.rate).toMatchObject({
      requestsPerMinute: 600,
      tokensPerMinute: 200_000,
      maxConcurrentRequests: 20,
    });
    expect(p?.limits?.models[0]).toMatchObject({
      model: "claude-sonnet-4-5*",
      limits: { requestsPerMinute: 60 },
    });
    expect(p?.limits?.budget).toMatchObject({
      period: BudgetPeriod.MONTH,
      tokens: 50_000_000,
      costMicros: 500_000_000,
    });

    const object = await eventually(
      async () => {
        const t = await kubectlJson<ApiKeyObject & { metadata: { generation: number } }>(
          "tenant",
          "acme",
        );
        return condition(t, "Ready")?.status === "True" ? t : undefined;
      },
      { what: "Tenant Ready" },
    );
    expect(condition(object, "Ready")).toMatchObject({ status: "True", reason: "Active" });
    expect(condition(object, "Synced")).toMatchObject({ status: "True", reason: "Synced" });
    expect(object.status?.observedGeneration).toBe(object.metadata.generation);
    expect(object.metadata.finalizers).toEqual(["strata.dev/operator"]);
  });

  it("applies a spec change to auth, keeping lastTransitionTime while Ready stays True", async () => {
    const before = await kubectlJson<ApiKeyObject>("tenant", "acme");
    const readySince = before?.status?.conditions?.find((c) => c.type === "Ready");
    await kubectl(
      "patch",
      "tenant",
      "acme",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { displayName: "ACME Corporation" } }),
    );
    await eventually(
      async () =>
        (await admin.getTenant({ tenantId: "acme" })).tenant?.displayName === "ACME Corporation",
      { what: "display name synced" },
    );
    const after = await eventually(async () => {
      const t = await kubectlJson<ApiKeyObject & { metadata: { generation: number } }>(
        "tenant",
        "acme",
      );
      return t?.status?.observedGeneration === t?.metadata.generation ? t : undefined;
    });
    expect(after.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "True",
      lastTransitionTime: (readySince as { lastTransitionTime?: string } | undefined)
        ?.lastTransitionTime,
    });
  });
});

describe("the operator: ApiKey", () => {
  let chatbot: { key: string; keyId: string };

  it("delivers the example ApiKey's key into its Secret, and the key works through the gateway", async () => {
    const started = Date.now();
    await applyServerSide(kube, example("apikey.yaml"));
    const delivered = await eventually(() => keyIn("team-a", "chatbot-openai"), {
      what: "Secret chatbot-openai",
    });
    expect(await works(delivered.key)).toBe(true);
    const ms = Date.now() - started;
    console.info(`ApiKey applied → working key through the gateway: ${ms} ms`);
    chatbot = delivered;

    // The Secret: the key, its id and the base URL; labels, hash annotation, controller owner.
    const s = delivered.secret;
    expect(Object.keys(s.data ?? {}).sort()).toEqual(["api-key", "base-url", "key-id"]);
    expect(delivered.baseUrl).toBe(`${stack.gatewayUrl}/v1`);
    expect(s.metadata.labels).toMatchObject({
      "app.kubernetes.io/managed-by": "strata-operator",
      "strata.dev/apikey": "chatbot",
    });
    expect(s.metadata.annotations?.["strata.dev/api-key-sha256"]).toMatch(/^[0-9a-f]{64}$/);
    const object = await eventually(async () => {
      const k = await apiKey("team-a", "chatbot");
      return condition(k, "Ready")?.status === "True" && k?.status?.keyId === delivered.keyId
        ? k
        : undefined;
    });
    expect(s.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: "ApiKey",
        name: "chatbot",
        uid: object.metadata.uid,
        controller: true,
      }),
    ]);
    expect(object.metadata.finalizers).toEqual(["strata.dev/operator"]);
    expect(object.status?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    // expiresAfterDays: 30 "days" of 2 s.
    const life =
      Date.parse(object.status?.expiresAt ?? "") - Date.parse(object.status?.createdAt ?? "");
    expect(Math.abs(life - 30 * DAY_SECONDS * 1000)).toBeLessThanOrEqual(1_000);

    // The key's policy narrows the tenant's: another model the tenant allows is refused.
    const { key } = await admin.getKey({ keyId: delivered.keyId });
    expect(key?.tenantId).toBe("acme");
    expect(key?.name).toBe("k8s/team-a/chatbot Support chatbot");
    expect(key?.policy?.allowedModels).toEqual(["claude-3-haiku"]);
    await expect(works(delivered.key, "claude-sonnet-4-5")).rejects.toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );
    // The onboarding guide's consumer Deployment is valid against this API server.
    await applyServerSide(kube, example("consumer-deployment.yaml"), { dryRun: true });
  }, 90_000);

  it("rotates on schedule: both keys work during the overlap, only the new one after", async () => {
    const first = chatbot;
    // Weekly rotation = 21 s here: wait for the next one.
    const rotated = await eventually(
      async () => {
        const k = await apiKey("team-a", "chatbot");
        return k?.status?.keyId && k.status.keyId !== first.keyId ? k : undefined;
      },
      { timeoutMs: 50_000, intervalMs: 100, what: "a rotation" },
    );
    const next = await eventually(async () => {
      const k = await keyIn("team-a", "chatbot-openai");
      return k?.keyId === rotated.status?.keyId ? k : undefined;
    });
    // Within the 2-"day" (6 s) overlap both keys are accepted.
    const [oldWorks, newWorks] = await Promise.all([works(first.key), works(next.key)]);
    expect(oldWorks).toBe(true);
    expect(newWorks).toBe(true);
    expect(rotated.status?.previousKeyId).toBe(first.keyId);
    expect(rotated.status?.rotatedAt).toBeTruthy();
    const { key: previous } = await admin.getKey({ keyId: first.keyId });
    expect(previous?.rotatedToKeyId).toBe(next.keyId);
    const overlap = (previous?.expiresAtMs ?? 0) - Date.parse(rotated.status?.rotatedAt ?? "");
    expect(Math.abs(overlap - 2 * DAY_SECONDS * 1000)).toBeLessThanOrEqual(1_500);
    // After the overlap only the new key works.
    await new Promise((r) =>
      setTimeout(r, Math.max(0, (previous?.expiresAtMs ?? 0) - Date.now() + 300)),
    );
    expect(await works(first.key)).toBe(false);
    expect(await works(next.key)).toBe(true);
    chatbot = next;
    const events = await kubectlJson<{
      items: Array<{ reason: string; regarding: { name: string } }>;
    }>("events.events.k8s.io", "-n", "team-a");
    expect(
      events?.items.some((e) => e.reason === "KeyRotated" && e.regarding.name === "chatbot"),
    ).toBe(true);
  }, 90_000);

  it("refuses an ApiKey in a namespace the Tenant does not allow, revokes it when the namespace is dropped", async () => {
    await applyServerSide(
      kube,
      apiKeyYaml((d) => {
        d.metadata.namespace = "team-b";
        delete d.spec.rotation;
      }),
    );
    const refused = await eventually(async () => {
      const k = await apiKey("team-b", "chatbot");
      return condition(k, "Ready")?.reason === "NamespaceNotAllowed" ? k : undefined;
    });
    expect(condition(refused, "Ready")).toMatchObject({
      status: "False",
      reason: "NamespaceNotAllowed",
    });
    expect(condition(refused, "Ready")?.message).toContain("team-b");
    expect(refused.status?.keyId).toBeUndefined();
    expect(await secret("team-b", "chatbot-openai")).toBeUndefined();
    const { keys } = await admin.listKeys({ tenantId: "acme" });
    expect(keys.filter((k) => k.name.startsWith("k8s/team-b/"))).toEqual([]);
    const events = await kubectlJson<{ items: Array<{ reason: string; type: string }> }>(
      "events.events.k8s.io",
      "-n",
      "team-b",
    );
    expect(events?.items).toContainEqual(
      expect.objectContaining({ reason: "NamespaceNotAllowed", type: "Warning" }),
    );

    // Allowed: a key arrives. Dropped again: revoked, and the Secret deleted.
    const allow = (namespaces: string[]) =>
      kubectl(
        "patch",
        "tenant",
        "acme",
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { allowedNamespaces: namespaces } }),
      );
    await allow(["team-a", "team-b"]);
    const delivered = await eventually(() => keyIn("team-b", "chatbot-openai"), {
      what: "team-b key",
    });
    expect(await works(delivered.key)).toBe(true);
    await allow(["team-a"]);
    await eventually(
      async () =>
        condition(await apiKey("team-b", "chatbot"), "Ready")?.reason === "NamespaceNotAllowed",
    );
    await eventually(async () => (await secret("team-b", "chatbot-openai")) === undefined, {
      what: "team-b Secret deleted",
    });
    await eventually(async () => !(await works(delivered.key)), { what: "team-b key refused" });
  }, 90_000);
});

describe("the operator: drift repair", () => {
  let batch: { key: string; keyId: string };
  const name = "batch";

  beforeAll(async () => {
    await applyServerSide(
      kube,
      apiKeyYaml((d) => {
        d.metadata.name = name;
        d.spec.secretName = "batch-openai";
        d.spec.displayName = "Nightly batch";
        delete d.spec.rotation;
        delete d.spec.expiresAfterDays;
      }),
    );
    batch = await eventually(() => keyIn("team-a", "batch-openai"), { what: "batch key" });
  }, 60_000);

  it("restores a Secret deleted by hand with a fresh key, and revokes the old one", async () => {
    expect(await works(batch.key)).toBe(true);
    const deletedAt = Date.now();
    await kubectl("delete", "secret", "batch-openai", "-n", "team-a");
    const restored = await eventually(
      async () => {
        const k = await keyIn("team-a", "batch-openai");
        return k && k.keyId !== batch.keyId ? k : undefined;
      },
      { what: "restored Secret" },
    );
    console.info(`Secret deleted → restored with a new key: ${Date.now() - deletedAt} ms`);
    expect(await works(restored.key)).toBe(true);
    await eventually(async () => !(await works(batch.key)), {
      what: "old key refused",
      timeoutMs: 10_000,
    });
    const k = await apiKey("team-a", name);
    expect(k?.status?.previousKeyId).toBe(batch.keyId);
    batch = restored;
  }, 60_000);

  it("restores a Secret edited by hand", async () => {
    await kubectl(
      "patch",
      "secret",
      "batch-openai",
      "-n",
      "team-a",
      "--type=merge",
      "-p",
      JSON.stringify({
        data: { "api-key": Buffer.from("sk-strata-edited-by-hand").toString("base64") },
      }),
    );
    const restored = await eventually(
      async () => {
        const k = await keyIn("team-a", "batch-openai");
        return k && k.keyId !== batch.keyId && k.key.startsWith("sk-strata-") && k.key.length > 40
          ? k
          : undefined;
      },
      { what: "Secret restored after an edit" },
    );
    expect(await works(restored.key)).toBe(true);
    await eventually(async () => !(await works(batch.key)), {
      what: "old key refused",
      timeoutMs: 10_000,
    });
    batch = restored;
  }, 60_000);

  it("rewrites an edited base URL without issuing a new key", async () => {
    await kubectl(
      "patch",
      "secret",
      "batch-openai",
      "-n",
      "team-a",
      "--type=merge",
      "-p",
      JSON.stringify({
        data: { "base-url": Buffer.from("http://evil.example").toString("base64") },
      }),
    );
    const fixed = await eventually(async () => {
      const k = await keyIn("team-a", "batch-openai");
      return k?.baseUrl === `${stack.gatewayUrl}/v1` ? k : undefined;
    });
    expect(fixed.keyId).toBe(batch.keyId);
    expect(await works(batch.key)).toBe(true);
  }, 60_000);

  it("reissues a key revoked out of band (strata keys revoke), at the next resync", async () => {
    const revokedAt = Date.now();
    await admin.revokeKey({ keyId: batch.keyId });
    const reissued = await eventually(
      async () => {
        const k = await keyIn("team-a", "batch-openai");
        return k && k.keyId !== batch.keyId ? k : undefined;
      },
      { what: "reissued key", timeoutMs: 20_000 },
    );
    console.info(`key revoked out of band → new key delivered: ${Date.now() - revokedAt} ms`);
    expect(await works(reissued.key)).toBe(true);
    // The operator may deliver the new key before the revocation has reached the gateway (auth's
    // change feed is polled): the promise is that the old key is refused within a second of it.
    await eventually(async () => !(await works(batch.key)), {
      timeoutMs: Math.max(0, revokedAt + revocationBoundMs - Date.now()),
      intervalMs: 20,
      what: `old key refused within ${revocationBoundMs} ms of its revocation`,
    });
    console.info(`key revoked out of band → old key refused: ${Date.now() - revokedAt} ms`);
    const events = await kubectlJson<{
      items: Array<{ reason: string; regarding: { name: string } }>;
    }>("events.events.k8s.io", "-n", "team-a");
    expect(events?.items.some((e) => e.reason === "KeyRevoked" && e.regarding.name === name)).toBe(
      true,
    );
    batch = reissued;
  }, 60_000);

  it("moves the key to a renamed Secret and deletes the old Secret", async () => {
    await kubectl(
      "patch",
      "apikey",
      name,
      "-n",
      "team-a",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { secretName: "batch-openai-v2" } }),
    );
    const moved = await eventually(() => keyIn("team-a", "batch-openai-v2"), {
      what: "renamed Secret",
    });
    expect(await works(moved.key)).toBe(true);
    await eventually(async () => (await secret("team-a", "batch-openai")) === undefined, {
      what: "old Secret deleted",
    });
    await eventually(async () => !(await works(batch.key)), { what: "old key refused" });
  }, 60_000);

  it("shows the tenant's usage and cost this month in its status, as GetUsage reports them", async () => {
    const month = new Date().toISOString().slice(0, 7);
    const t = await eventually(
      async () => {
        const obj = await kubectlJson<{
          status?: { usage?: { period?: string; tokens?: number; costMicros?: number } };
        }>("tenant", "acme");
        const usage = obj?.status?.usage;
        if (!usage?.tokens || !usage.costMicros) return undefined;
        // The status may lag the ledger by a refresh: wait until both say the same.
        const { summaries } = await admin.getUsage({
          tenantId: "acme",
          sinceDay: `${month}-01`,
          untilDay: new Date().toISOString().slice(0, 10),
        });
        const tokens = summaries.reduce((n, s) => n + s.inputTokens + s.outputTokens, 0);
        const cost = summaries.reduce((n, s) => n + s.costMicros, 0);
        return usage.tokens === tokens && usage.costMicros === cost ? obj : undefined;
      },
      { what: "usage and cost in the Tenant status", timeoutMs: 20_000 },
    );
    expect(t.status?.usage?.period).toBe(month);
    expect(Number.isInteger(t.status?.usage?.costMicros)).toBe(true);
  }, 30_000);
});

describe("the operator: watch recovery", () => {
  it("restarts its watches when every connection to the API server drops, and keeps reconciling", async () => {
    const a = replicas.a as OperatorProcess;
    const restarts = () =>
      scrape(a).then((m) => metricValue(m, "strata_operator_watch_restarts_total"));
    const before = await restarts();
    expect(relay.cut()).toBeGreaterThan(0);
    await eventually(async () => (await restarts()) > before, { what: "watches restarted" });
    // Changes made after the cut reach the operator through the new watches.
    await applyServerSide(
      kube,
      apiKeyYaml((d) => {
        d.metadata.name = "after-cut";
        d.spec.secretName = "after-cut-openai";
        delete d.spec.rotation;
      }),
    );
    const k = await eventually(() => keyIn("team-a", "after-cut-openai"));
    expect(await works(k.key)).toBe(true);
    expect(await leaderOf()).toBe("operator-a");
  }, 60_000);
});

describe("the operator: leader election", () => {
  it("has exactly one replica acting; the standby never reconciles", async () => {
    const a = replicas.a as OperatorProcess;
    const b = replicas.b as OperatorProcess;
    const [ma, mb] = await Promise.all([scrape(a), scrape(b)]);
    expect(metricValue(ma, "strata_operator_leader")).toBe(1);
    expect(metricValue(mb, "strata_operator_leader")).toBe(0);
    expect(metricValue(ma, "strata_operator_reconciles_total")).toBeGreaterThan(0);
    expect(metricValue(mb, "strata_operator_reconciles_total")).toBe(0);
    expect(await leaderOf()).toBe("operator-a");
    // Both are ready: readiness means "caches synced", not "leading".
    expect((await fetch(`${a.opsUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${b.opsUrl}/readyz`)).status).toBe(200);
  });

  it("fails over to the standby within the lease duration when the leader dies", async () => {
    const a = replicas.a as OperatorProcess;
    const b = replicas.b as OperatorProcess;
    await a.stop("SIGKILL");
    const killed = Date.now();
    await eventually(async () => metricValue(await scrape(b), "strata_operator_leader") === 1, {
      intervalMs: 50,
      what: "b leading",
    });
    const failover = Date.now() - killed;
    console.info(
      `leader killed (SIGKILL) → standby leading: ${failover} ms (lease ${LEASE.durationMs} ms)`,
    );
    expect(failover).toBeLessThanOrEqual(LEASE.durationMs + 2 * LEASE.retryPeriodMs + 1_500);
    expect(await leaderOf()).toBe("operator-b");
    // b reconciles now: a new ApiKey gets its key.
    await applyServerSide(
      kube,
      apiKeyYaml((d) => {
        d.metadata.name = "after-failover";
        d.spec.secretName = "after-failover-openai";
        delete d.spec.rotation;
      }),
    );
    const k = await eventually(() => keyIn("team-a", "after-failover-openai"));
    expect(await works(k.key)).toBe(true);
  }, 60_000);

  it("hands over at once on SIGTERM (the lease is released), and a new standby stays idle", async () => {
    const b = replicas.b as OperatorProcess;
    const c = await startReplica("c");
    await new Promise((r) => setTimeout(r, 3 * LEASE.retryPeriodMs));
    const idle = await scrape(c);
    expect(metricValue(idle, "strata_operator_leader")).toBe(0);
    expect(metricValue(idle, "strata_operator_reconciles_total")).toBe(0);
    const stopping = Date.now();
    await b.stop("SIGTERM");
    await eventually(async () => metricValue(await scrape(c), "strata_operator_leader") === 1, {
      intervalMs: 50,
      what: "c leading",
    });
    const handover = Date.now() - stopping;
    console.info(`leader stopped (SIGTERM) → standby leading: ${handover} ms`);
    expect(handover).toBeLessThan(LEASE.durationMs);
    expect(await leaderOf()).toBe("operator-c");
    expect(readFileSync(b.log, "utf8")).toContain("released the lease");
  }, 60_000);
});

describe("the operator: deletion", () => {
  it("revokes the keys of a deleted ApiKey within seconds, and removes its Secret", async () => {
    const current = await eventually(() => keyIn("team-a", "chatbot-openai"));
    expect(await works(current.key)).toBe(true);
    const deleting = Date.now();
    await kubectl("delete", "apikey", "chatbot", "-n", "team-a", "--wait=false");
    await eventually(async () => !(await works(current.key)), {
      intervalMs: 100,
      what: "key refused",
    });
    console.info(`ApiKey deleted → its key refused by the gateway: ${Date.now() - deleting} ms`);
    await eventually(async () => (await apiKey("team-a", "chatbot")) === undefined, {
      what: "ApiKey gone",
    });
    expect(await secret("team-a", "chatbot-openai")).toBeUndefined();
    const { keys } = await admin.listKeys({ tenantId: "acme" });
    const mine = keys.filter((k) => k.name.startsWith("k8s/team-a/chatbot "));
    expect(mine.length).toBeGreaterThan(1);
    expect(mine.filter((k) => k.status === KeyStatus.ACTIVE)).toEqual([]);
  }, 60_000);

  it("suspends the tenant in auth when its Tenant is deleted: keys refused, audit and usage kept", async () => {
    const batch = await eventually(() => keyIn("team-a", "batch-openai-v2"));
    expect(await works(batch.key)).toBe(true);
    await kubectl("delete", "tenant", "acme", "--wait=false");
    await eventually(async () => (await kubectlJson("tenant", "acme")) === undefined, {
      what: "Tenant gone",
    });
    const { tenant } = await admin.getTenant({ tenantId: "acme" });
    expect(tenant?.status).toBe(TenantStatus.SUSPENDED);
    // Gateways drop the tenant's cached keys when auth's change feed says it changed.
    const refused = await eventually(
      () =>
        works(batch.key).then(
          () => false,
          (error: unknown) => error instanceof OpenAI.PermissionDeniedError,
        ),
      { what: "keys of the suspended tenant refused", timeoutMs: 10_000 },
    );
    expect(refused).toBe(true);
    const orphan = await eventually(async () => {
      const k = await apiKey("team-a", "batch");
      return condition(k, "Ready")?.reason === "TenantNotFound" ? k : undefined;
    });
    expect(condition(orphan, "Ready")?.status).toBe("False");
    const { events } = await admin.listAuditEvents({ tenantId: "acme" });
    expect(events.some((e) => e.action === "tenant.update")).toBe(true);
  }, 60_000);
});

describe("the operator: key material", () => {
  it("never writes a key into an ApiKey's status, an event, a log line or a metric", async () => {
    expect(seenKeys.size).toBeGreaterThan(5);
    const shaped = /sk-strata-[0-9A-Za-z]{12}_[0-9A-Za-z]{20,}/;
    const places: Array<[string, string]> = [
      ["apikeys", JSON.stringify(await kubectlJson("apikeys", "-A"))],
      ["tenants", JSON.stringify(await kubectlJson("tenants"))],
      ["events", JSON.stringify(await kubectlJson("events.events.k8s.io", "-A"))],
      ["core events", JSON.stringify(await kubectlJson("events", "-A"))],
      ...Object.entries(replicas).map(([n, op]): [string, string] => [
        `log ${n}`,
        readFileSync(op.log, "utf8"),
      ]),
      ["metrics c", await scrape(replicas.c as OperatorProcess)],
    ];
    for (const [where, text] of places) {
      expect(text.length, where).toBeGreaterThan(0);
      expect(shaped.test(text), `${where} holds something shaped like a key`).toBe(false);
      for (const key of seenKeys) expect(text.includes(key), `${where} holds a key`).toBe(false);
    }
    // The operator ran as the chart's service account: no call was forbidden.
    for (const op of Object.values(replicas)) {
      expect(readFileSync(op.log, "utf8")).not.toMatch(/forbidden/i);
    }
  });
});
