import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { applyServerSide, helmTemplate, type Kube, startKube } from "./support/kube.ts";

// The strata-crds chart against a real kube-apiserver (built from the Go module proxy by
// scripts/ensure-kube-apiserver.sh) over Debian's etcd: the CRDs are accepted (structural schemas,
// CEL rules within the cost budget) and become Established, valid Tenants and ApiKeys are stored
// with their defaults, and every CEL rule and representative schema constraint rejects what it
// should, with the server's own message.
const run = promisify(execFile);
let kube: Kube;
let helm: string;
let crdYaml: string;
const namespace = "team-a";
const chart = "deploy/helm/strata-crds";

type Schema = {
  properties?: Record<string, Schema>;
  items?: Schema;
  "x-kubernetes-validations"?: Array<{ rule: string; message?: string }>;
};
type Crd = {
  spec: { names: { kind: string }; versions: Array<{ schema: { openAPIV3Schema: Schema } }> };
};

/** Every CEL rule of a schema, as `<kind> <path>: <message>`. */
function celRules(kind: string, schema: Schema, path = ""): string[] {
  const here = (schema["x-kubernetes-validations"] ?? []).map(
    (v) => `${kind} ${path || "<root>"}: ${v.message ?? v.rule}`,
  );
  const below = Object.entries(schema.properties ?? {}).flatMap(([name, child]) =>
    celRules(kind, child, path ? `${path}.${name}` : name),
  );
  const items = schema.items ? celRules(kind, schema.items, `${path}[*]`) : [];
  return [...here, ...below, ...items];
}

const tenant = (name: string, spec: object) =>
  JSON.stringify({ apiVersion: "strata.dev/v1alpha1", kind: "Tenant", metadata: { name }, spec });
const apiKey = (name: string, spec: object) =>
  JSON.stringify({
    apiVersion: "strata.dev/v1alpha1",
    kind: "ApiKey",
    metadata: { name, namespace },
    spec: { tenant: "acme", secretName: `${name}-key`, ...spec },
  });

/** Creates the object (a server dry run unless told otherwise); resolves with kubectl's stderr. */
async function create(json: string, { dryRun = true, validate = "strict" } = {}) {
  const args = ["create", `--validate=${validate}`, "-f", "-", "-o", "json"];
  if (dryRun) args.push("--dry-run=server");
  return kube.kubectl(args, json);
}

async function getJson<T>(...args: string[]): Promise<T> {
  const result = await kube.kubectl(["get", ...args, "-o", "json"]);
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  const [tools, kubeBin] = await Promise.all([
    run("scripts/ensure-k8s-tools.sh", [], { timeout: 1_800_000 }),
    run("scripts/ensure-kube-apiserver.sh", [], { timeout: 1_800_000 }),
  ]);
  helm = `${tools.stdout.trim()}/helm`;
  kube = await startKube({ bin: kubeBin.stdout.trim() });
  console.info(
    `etcd healthy in ${kube.startup.etcdMs} ms, kube-apiserver ready in ${kube.startup.apiserverMs} ms`,
  );
  crdYaml = await helmTemplate(helm, chart, {});
  await applyServerSide(kube, crdYaml);
  const established = await kube.kubectl([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/tenants.strata.dev",
    "crd/apikeys.strata.dev",
  ]);
  expect(established.stderr).toBe("");
  const ns = await kube.kubectl(["create", "namespace", namespace]);
  expect(ns.stderr).toBe("");
}, 1_800_000);

afterAll(async () => {
  await kube?.stop();
});

describe("the kube-apiserver built for the system tier", () => {
  it("reports the release tools/kube pins, as does the kubectl built with it", async () => {
    const pinned = /k8s\.io\/kubernetes (v1\.(\d+)\.\d+)/.exec(
      readFileSync("tools/kube/go.mod", "utf8"),
    );
    const result = await kube.kubectl(["version", "-o", "json"]);
    const versions = JSON.parse(result.stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string; minor: string };
    };
    expect(versions.serverVersion.gitVersion).toBe(pinned?.[1]);
    expect(versions.serverVersion.minor).toBe(pinned?.[2]);
    expect(versions.clientVersion.gitVersion).toBe(pinned?.[1]);
  });

  it("refuses an unknown token, and RBAC forbids a user without bindings", async () => {
    const unknown = await kube.kubectl(["get", "namespaces", "--token=not-a-token"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("Unauthorized");
    const nobody = await kube.kubectl(["get", "namespaces", "--as=nobody"]);
    expect(nobody.code).not.toBe(0);
    expect(nobody.stderr).toContain('User "nobody" cannot list resource "namespaces"');
  });
});

describe("strata-crds applied server-side", () => {
  it("establishes both CRDs, and re-applying the chart changes nothing", async () => {
    for (const name of ["tenants.strata.dev", "apikeys.strata.dev"]) {
      const crd = await getJson<{
        status: { conditions: Array<{ type: string; status: string }> };
      }>("crd", name);
      const status = Object.fromEntries(crd.status.conditions.map((c) => [c.type, c.status]));
      expect(status).toMatchObject({ Established: "True", NamesAccepted: "True" });
    }
    expect(await applyServerSide(kube, crdYaml, { dryRun: true })).toContain("serverside-applied");
    const generations = async () =>
      (
        await kube.kubectl([
          "get",
          "crd",
          "tenants.strata.dev",
          "apikeys.strata.dev",
          "-o",
          "jsonpath={.items[*].metadata.generation}",
        ])
      ).stdout;
    const before = await generations();
    expect(before).toMatch(/^\d+ \d+$/);
    await applyServerSide(kube, crdYaml);
    expect(await generations()).toBe(before);
  });

  it("stores a valid Tenant with the schema's defaults applied", async () => {
    const created = await create(
      tenant("acme", {
        displayName: "Acme Corp",
        allowedNamespaces: [namespace, "team-b"],
        policy: {
          allowedModels: ["anthropic.claude-*", "amazon.titan-embed-text-v2:0"],
          allowedEndpoints: ["chat.completions", "embeddings", "models"],
          allowedSourceCidrs: ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"],
          allowedRegions: ["eu", "us-east-1", "us-gov-west-1", "global"],
          toolPolicy: {
            enforced: true,
            allowed: [
              { name: "read_*", argumentsSchema: { type: "object", properties: { a: {} } } },
            ],
          },
          secrets: "Redact",
          limits: {
            rate: { requestsPerMinute: 600, tokensPerMinute: 4294967295 },
            models: [{ model: "anthropic.claude-*", limits: { maxConcurrentRequests: 4 } }],
            budget: { period: "Month", tokens: 1_000_000, costMicros: 50_000_000 },
          },
          contentLogging: false,
          guardrail: { identifier: "gr-123", version: "DRAFT" },
          crossAccount: {
            roleArn: "arn:aws:iam::123456789012:role/strata-inference",
            externalId: "acme-ext-1",
          },
        },
      }),
      { dryRun: false },
    );
    expect(created.stderr).toBe("");
    const stored = await getJson<{ spec: Record<string, unknown> }>("tenant", "acme");
    expect(stored.spec.state).toBe("Active");
    expect(stored.spec).toMatchObject({
      displayName: "Acme Corp",
      policy: {
        toolPolicy: { allowed: [{ argumentsSchema: { type: "object", properties: { a: {} } } }] },
        limits: { budget: { period: "Month" } },
      },
    });
  });

  it("stores a valid ApiKey in its namespace, leaving the rotation overlap to the operator", async () => {
    const created = await create(
      apiKey("ci", {
        displayName: "CI pipeline",
        expiresAfterDays: 30,
        rotation: { periodDays: 28 },
        policy: {
          allowedModels: ["anthropic.claude-3-haiku-*"],
          allowedSourceCidrs: ["10.1.0.0/16"],
          limits: { rate: { requestsPerMinute: 60 }, budget: { period: "Day", tokens: 10_000 } },
        },
      }),
      { dryRun: false },
    );
    expect(created.stderr).toBe("");
    const stored = await getJson<{ spec: { rotation: object; tenant: string } }>(
      "apikey",
      "ci",
      "-n",
      namespace,
    );
    expect(stored.spec.tenant).toBe("acme");
    expect(stored.spec.rotation).toEqual({ periodDays: 28 });
    // No default overlap, so a weekly rotation needs no explicit overlap to be valid.
    const weekly = await create(apiKey("weekly", { rotation: { periodDays: 7 } }));
    expect(weekly.stderr).toBe("");
    const listed = await kube.kubectl(["get", "strata", "-A"]);
    expect(listed.stdout).toMatch(/apikey\.strata\.dev\/ci\s+acme\s+ci-key/);
  });

  it("applies objects that name no namespace into the one asked for", async () => {
    const unplaced = JSON.stringify({
      apiVersion: "strata.dev/v1alpha1",
      kind: "ApiKey",
      metadata: { name: "unplaced" },
      spec: { tenant: "acme", secretName: "unplaced-key" },
    });
    expect(await applyServerSide(kube, unplaced, { namespace })).toContain(
      "apikey.strata.dev/unplaced serverside-applied",
    );
    const stored = await getJson<{ metadata: { namespace: string } }>(
      "apikey",
      "unplaced",
      "-n",
      namespace,
    );
    expect(stored.metadata.namespace).toBe(namespace);
  });

  it("lets an ApiKey change anything but its tenant", async () => {
    const renamed = await kube.kubectl([
      "patch",
      "apikey",
      "ci",
      "-n",
      namespace,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { displayName: "CI" } }),
    ]);
    expect(renamed.stderr).toBe("");
    const moved = await kube.kubectl([
      "patch",
      "apikey",
      "ci",
      "-n",
      namespace,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { tenant: "globex" } }),
    ]);
    expect(moved.code).not.toBe(0);
    expect(moved.stderr).toContain("spec: Invalid value");
    expect(moved.stderr).toContain("tenant is immutable; create another ApiKey");
    const applied = await applyServerSide(kube, apiKey("ci", { tenant: "globex" })).catch(
      (error: Error) => error.message,
    );
    expect(applied).toContain("tenant is immutable; create another ApiKey");
    const stored = await getJson<{ spec: { tenant: string; displayName: string } }>(
      "apikey",
      "ci",
      "-n",
      namespace,
    );
    expect(stored.spec).toMatchObject({ tenant: "acme", displayName: "CI" });
  });
});

// One case per CEL rule of both CRDs (the update-only rule is exercised above), each naming the
// rule by "<kind> <path>: <message>" as celRules() reports it from the rendered chart.
const immutableTenant = "ApiKey spec: tenant is immutable; create another ApiKey";
const celCases: Array<{ name: string; rule: string; object: string; field: string }> = [
  {
    name: "a Tenant named like a DNS subdomain rather than a label",
    rule: "Tenant <root>: tenant names are 1-63 lower-case letters, digits and dashes",
    object: tenant("acme.corp", {}),
    field: "<nil>",
  },
  {
    name: "a Tenant name longer than 63 characters",
    rule: "Tenant <root>: tenant names are 1-63 lower-case letters, digits and dashes",
    object: tenant("a".repeat(64), {}),
    field: "<nil>",
  },
  {
    name: "a Tenant source CIDR that is neither a CIDR nor an address",
    rule: "Tenant spec.policy.allowedSourceCidrs[*]: must be an IPv4 or IPv6 CIDR or address",
    object: tenant("t-cidr", { policy: { allowedSourceCidrs: ["10.0.0.0/8", "10.0.0.0/33"] } }),
    field: "spec.policy.allowedSourceCidrs[1]",
  },
  {
    name: "a Tenant budget without a period",
    rule: "Tenant spec.policy.limits.budget: a budget needs a period (Day or Month)",
    object: tenant("t-budget", { policy: { limits: { budget: { tokens: 1000 } } } }),
    field: "spec.policy.limits.budget",
  },
  {
    name: "an ApiKey rotation whose overlap is as long as its period",
    rule: "ApiKey spec.rotation: overlapDays must be shorter than periodDays",
    object: apiKey("k-rotation", { rotation: { periodDays: 7, overlapDays: 7 } }),
    field: "spec.rotation",
  },
  {
    name: "an ApiKey source CIDR that is not an address",
    rule: "ApiKey spec.policy.allowedSourceCidrs[*]: must be an IPv4 or IPv6 CIDR or address",
    object: apiKey("k-cidr", { policy: { allowedSourceCidrs: ["10.0.0.300"] } }),
    field: "spec.policy.allowedSourceCidrs[0]",
  },
  {
    name: "an ApiKey budget with a cost but no period",
    rule: "ApiKey spec.policy.limits.budget: a budget needs a period (Day or Month)",
    object: apiKey("k-budget", { policy: { limits: { budget: { costMicros: 5 } } } }),
    field: "spec.policy.limits.budget",
  },
];

describe("CEL rules, enforced by the apiserver", () => {
  it("has a rejecting case here for every x-kubernetes-validations rule of the chart", () => {
    const crds = parseAllDocuments(crdYaml).map((d) => d.toJSON() as Crd);
    const rules = crds.flatMap((crd) =>
      celRules(crd.spec.names.kind, crd.spec.versions[0]?.schema.openAPIV3Schema ?? {}),
    );
    const covered = new Set([...celCases.map((c) => c.rule), immutableTenant]);
    expect(new Set(rules)).toEqual(covered);
  });

  it.each(celCases)("rejects $name", async ({ rule, object, field }) => {
    const result = await create(object);
    expect(result.code).not.toBe(0);
    const message = rule.slice(rule.indexOf(": ") + 2);
    expect(result.stderr).toContain(`${field}: Invalid value`);
    expect(result.stderr).toContain(message);
  });
});

// Representative structural-schema constraints: type, enum, pattern, bounds, lengths, sizes,
// required fields, and fields the schema does not declare.
const schemaCases: Array<{ name: string; object: string; error: string[] }> = [
  {
    name: "a Tenant without a spec",
    object: JSON.stringify({
      apiVersion: "strata.dev/v1alpha1",
      kind: "Tenant",
      metadata: { name: "t-nospec" },
    }),
    error: ["spec: Required value"],
  },
  {
    name: "a display name of the wrong type",
    object: tenant("t-type", { displayName: 5 }),
    error: ["spec.displayName: Invalid value", "must be of type string"],
  },
  {
    name: "a display name longer than 128 characters",
    object: tenant("t-long", { displayName: "x".repeat(129) }),
    error: ["spec.displayName: Too long", "128"],
  },
  {
    name: "a state outside its enum",
    object: tenant("t-state", { state: "Paused" }),
    error: ['spec.state: Unsupported value: "Paused"', '"Active", "Suspended"'],
  },
  {
    name: "an endpoint outside its enum",
    object: tenant("t-endpoint", { policy: { allowedEndpoints: ["images"] } }),
    error: ['spec.policy.allowedEndpoints[0]: Unsupported value: "images"'],
  },
  {
    name: "more allowed namespaces than the maximum",
    object: tenant("t-many", { allowedNamespaces: Array.from({ length: 257 }, (_, i) => `n${i}`) }),
    error: ["spec.allowedNamespaces: Too many: 257", "256"],
  },
  {
    name: "a region that matches no geography or region pattern",
    object: tenant("t-region", { policy: { allowedRegions: ["Europe"] } }),
    error: ["spec.policy.allowedRegions[0]: Invalid value", "should match"],
  },
  {
    name: "a cross-account role that is not an IAM role ARN",
    object: tenant("t-role", {
      policy: { crossAccount: { roleArn: "arn:aws:iam::123:user/x", externalId: "e1" } },
    }),
    error: ["spec.policy.crossAccount.roleArn: Invalid value", "should match"],
  },
  {
    name: "a guardrail without a version",
    object: tenant("t-guardrail", { policy: { guardrail: { identifier: "gr-1" } } }),
    error: ["spec.policy.guardrail.version: Required value"],
  },
  {
    name: "a rate limit above uint32",
    object: tenant("t-rate", { policy: { limits: { rate: { requestsPerMinute: 4294967296 } } } }),
    error: [
      "spec.policy.limits.rate.requestsPerMinute: Invalid value",
      "less than or equal to 4294967295",
    ],
  },
  {
    name: "a field the Tenant schema does not declare",
    object: tenant("t-unknown", { displayName: "x", owner: "someone" }),
    error: ['unknown field "spec.owner"'],
  },
  {
    name: "an ApiKey tenant that is not a DNS label",
    object: apiKey("k-tenant", { tenant: "Acme" }),
    error: ["spec.tenant: Invalid value", "should match"],
  },
  {
    name: "an ApiKey without a Secret name",
    object: JSON.stringify({
      apiVersion: "strata.dev/v1alpha1",
      kind: "ApiKey",
      metadata: { name: "k-nosecret", namespace },
      spec: { tenant: "acme" },
    }),
    error: ["spec.secretName: Required value"],
  },
  {
    name: "an ApiKey lifetime of zero days",
    object: apiKey("k-zero", { expiresAfterDays: 0 }),
    error: ["spec.expiresAfterDays: Invalid value", "greater than or equal to 1"],
  },
  {
    name: "an ApiKey lifetime above a year",
    object: apiKey("k-year", { expiresAfterDays: 366 }),
    error: ["spec.expiresAfterDays: Invalid value", "less than or equal to 365"],
  },
  {
    name: "a tenant-only field (guardrail) on an ApiKey",
    object: apiKey("k-guardrail", { policy: { guardrail: { identifier: "g", version: "1" } } }),
    error: ['unknown field "spec.policy.guardrail"'],
  },
];

describe("structural schemas, enforced by the apiserver", () => {
  it.each(schemaCases)("rejects $name", async ({ object, error }) => {
    const result = await create(object);
    expect(result.code).not.toBe(0);
    for (const part of error) expect(result.stderr).toContain(part);
  });

  it("refuses a wrong type in a server-side apply before validation, naming the field", async () => {
    const applied = await applyServerSide(kube, tenant("t-ssa", { displayName: 5 }), {
      dryRun: true,
    }).catch((error: Error) => error.message);
    expect(applied).toContain("failed to create typed patch object");
    expect(applied).toContain(".spec.displayName: expected string");
  });

  it("prunes undeclared fields when the client does not ask for strict validation", async () => {
    const created = await create(
      apiKey("pruned", { displayName: "p", owner: "someone", policy: { guardrail: {} } }),
      { dryRun: false, validate: "false" },
    );
    expect(created.code).toBe(0);
    const stored = await getJson<{ spec: Record<string, unknown> }>(
      "apikey",
      "pruned",
      "-n",
      namespace,
    );
    expect(stored.spec).toEqual({
      tenant: "acme",
      secretName: "pruned-key",
      displayName: "p",
      policy: {},
    });
  });

  it("takes status only through the status subresource, validated there", async () => {
    const condition = {
      type: "Ready",
      status: "True",
      lastTransitionTime: "2026-01-01T00:00:00Z",
      reason: "Reconciled",
      message: "",
    };
    const patch = (status: object) =>
      kube.kubectl([
        "patch",
        "tenant",
        "acme",
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({ status }),
      ]);
    expect((await patch({ conditions: [condition] })).stderr).toBe("");
    const bad = await patch({ conditions: [{ ...condition, status: "Maybe" }] });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('status.conditions[0].status: Unsupported value: "Maybe"');
    const viaMain = await kube.kubectl([
      "patch",
      "tenant",
      "acme",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { conditions: [{ ...condition, status: "False" }] } }),
    ]);
    expect(viaMain.code).toBe(0);
    const stored = await getJson<{ status: { conditions: Array<{ status: string }> } }>(
      "tenant",
      "acme",
    );
    expect(stored.status.conditions).toEqual([condition]);
  });
});
