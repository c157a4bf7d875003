import { createHash } from "node:crypto";
import type { ConnectError } from "@connectrpc/connect";
import { type LocalDynamo, startDynalite } from "@strata/devstack";
import { createDynamoClient, ensureTables } from "@strata/dynamodb";
import { fromConnectError } from "@strata/errors";
import { bearerAuth, createLogger, createRpcClient, createRpcTransport } from "@strata/platform";
import { AuthAdminService, AuthService, KeyStatus, SecretsMode, TenantStatus } from "@strata/proto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthServer, createAuthServer } from "./server.ts";
import { createAuthStore } from "./store.ts";
import { authTableSpecs, authTables } from "./tables.ts";

const adminToken = "test-admin-token-0123456789";
let dynamo: LocalDynamo;
let server: AuthServer;
let store: ReturnType<typeof createAuthStore>;

beforeAll(async () => {
  dynamo = await startDynalite();
  const clients = createDynamoClient({ region: "us-east-1", endpoint: dynamo.endpoint });
  const tables = authTables("t-");
  await ensureTables(clients.client, authTableSpecs(tables));
  store = createAuthStore(clients.doc, tables);
  server = await createAuthServer({
    store,
    logger: createLogger({ service: "auth", level: "silent" }),
    registry: new Registry(),
    host: "127.0.0.1",
    port: 0,
    adminPort: 0,
    bootstrapTokens: [{ sha256: createHash("sha256").update(adminToken).digest("hex") }],
    changeFeedPollMs: 50,
    watchHeartbeatMs: 200,
    keyMaxAgeDays: 90,
    verifyCacheTtlMs: 10_000,
  });
});
afterAll(async () => {
  await server.close(500);
  await dynamo.close();
});

const admin = (token = adminToken) =>
  createRpcClient(
    AuthAdminService,
    createRpcTransport({
      baseUrl: `http://127.0.0.1:${server.adminPort}`,
      interceptors: [bearerAuth(token)],
    }),
  );
const auth = () =>
  createRpcClient(AuthService, createRpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }));
const failure = async (p: Promise<unknown>) =>
  fromConnectError((await p.catch((e: unknown) => e)) as ConnectError);

describe("auth service", () => {
  it("creates a tenant and a key that verifies to its principal and policies", async () => {
    await admin().createTenant({ tenantId: "acme", policy: { allowedModels: ["anthropic.*"] } });
    const created = await admin().createKey({
      tenantId: "acme",
      name: "ci",
      policy: { allowedModels: ["anthropic.claude-3-haiku*"] },
    });
    expect(created.secret).toMatch(/^sk-strata-/);
    expect(created.key?.displayPrefix).toBe(`sk-strata-${created.key?.keyId}_`);
    const verified = await auth().verifyKey({ apiKey: created.secret });
    expect(verified.principal).toMatchObject({ tenantId: "acme", keyId: created.key?.keyId });
    expect(verified.tenantPolicy?.allowedModels).toEqual(["anthropic.*"]);
    expect(verified.keyPolicy?.allowedModels).toEqual(["anthropic.claude-3-haiku*"]);
    expect(verified.cacheTtlMs).toBe(10_000);
  });

  it("never stores or lists the secret", async () => {
    const created = await admin().createKey({ tenantId: "acme", name: "no-leak" });
    const stored = await store.getKey(created.key?.keyId ?? "");
    const secretPart = created.secret.split("_")[1] ?? "";
    expect(JSON.stringify(stored)).not.toContain(secretPart.slice(0, 20));
    const listed = await admin().listKeys({ tenantId: "acme" });
    expect(JSON.stringify(listed)).not.toContain(secretPart.slice(0, 20));
    expect(listed.keys.map((k) => k.name)).toContain("no-leak");
  });

  it.each([
    ["malformed", "sk-strata-nope"],
    [
      "wrong checksum",
      "sk-strata-AAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
  ])("rejects a %s key as unauthenticated with a masked key in the message", async (_, apiKey) => {
    const error = await failure(auth().verifyKey({ apiKey }));
    expect(error.reason).toBe("unauthenticated");
    expect(error.message).toMatch(/^Incorrect API key provided: sk-…/);
    expect(error.message).not.toContain(apiKey);
    expect(error.message).not.toContain("AAAAAAAAAA");
  });

  it("rejects a well-formed key with a wrong secret like an unknown one", async () => {
    const { secret } = await admin().createKey({ tenantId: "acme" });
    const tampered = await failure(
      auth().verifyKey({ apiKey: secret.replace(/_(.)/, (_, c) => `_${c === "A" ? "B" : "A"}`) }),
    );
    expect(tampered.reason).toBe("unauthenticated");
    expect(tampered.openaiCode).toBe("invalid_api_key");
  });

  it("refuses a revoked key with a distinct code, and audits the revocation", async () => {
    const { secret, key } = await admin().createKey({ tenantId: "acme" });
    const revoked = await admin().revokeKey({ keyId: key?.keyId ?? "" });
    expect(revoked.key?.status).toBe(KeyStatus.REVOKED);
    const error = await failure(auth().verifyKey({ apiKey: secret }));
    expect([error.reason, error.openaiCode]).toEqual(["unauthenticated", "revoked_api_key"]);
  });

  it("refuses an expired key with a distinct code", async () => {
    const { secret, key } = await admin().createKey({ tenantId: "acme", ttlSeconds: 1 });
    expect(key?.status).toBe(KeyStatus.ACTIVE);
    await new Promise((r) => setTimeout(r, 1_100));
    const error = await failure(auth().verifyKey({ apiKey: secret }));
    expect([error.reason, error.openaiCode]).toEqual(["unauthenticated", "expired_api_key"]);
  });

  it("rejects admin calls without a valid admin token, and audits them", async () => {
    expect((await failure(admin("wrong").listTenants({}))).reason).toBe("unauthenticated");
    expect((await failure(admin("").listTenants({}))).reason).toBe("unauthenticated");
  });

  it.each([
    ["Bad_Id", "tenant_id"],
    ["-x", "tenant_id"],
  ])("rejects tenant id %j naming the param", async (tenantId, param) => {
    const error = await failure(admin().createTenant({ tenantId }));
    expect([error.reason, error.param]).toEqual(["invalid_request", param]);
  });

  it("refuses a duplicate tenant and keys for unknown tenants", async () => {
    expect((await failure(admin().createTenant({ tenantId: "acme" }))).reason).toBe(
      "already_exists",
    );
    expect((await failure(admin().createKey({ tenantId: "nobody" }))).reason).toBe("not_found");
    expect(
      (await failure(admin().createKey({ tenantId: "acme", ttlSeconds: 91 * 86_400 }))).param,
    ).toBe("ttl_seconds");
  });
});

describe("key lifecycle", () => {
  it("rotates a key: both work during the overlap, only the new one after", async () => {
    const { key, secret: oldSecret } = await admin().createKey({
      tenantId: "acme",
      name: "rotating",
    });
    const rotated = await admin().rotateKey({ keyId: key?.keyId ?? "", overlapSeconds: 1 });
    expect(rotated.key?.rotatedFromKeyId).toBe(key?.keyId);
    expect(rotated.previous?.rotatedToKeyId).toBe(rotated.key?.keyId);
    expect(rotated.key?.name).toBe("rotating");
    await auth().verifyKey({ apiKey: oldSecret });
    await auth().verifyKey({ apiKey: rotated.secret });
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await failure(auth().verifyKey({ apiKey: oldSecret }))).openaiCode).toBe(
      "expired_api_key",
    );
    await auth().verifyKey({ apiKey: rotated.secret });
    expect((await failure(admin().rotateKey({ keyId: key?.keyId ?? "" }))).param).toBe("key_id");
  });

  it("rotates a key whose remaining life is shorter than the overlap, keeping its expiry", async () => {
    const { key } = await admin().createKey({ tenantId: "acme", ttlSeconds: 86_400 });
    const rotated = await admin().rotateKey({
      keyId: key?.keyId ?? "",
      overlapSeconds: 7 * 86_400,
    });
    expect(rotated.previous?.expiresAtMs).toBe(key?.expiresAtMs);
    expect(rotated.previous?.rotatedToKeyId).toBe(rotated.key?.keyId);
  });

  it("gives a rotated key the lifetime asked for, within the maximum age", async () => {
    const { key } = await admin().createKey({ tenantId: "acme", ttlSeconds: 86_400 });
    const before = Date.now();
    const rotated = await admin().rotateKey({ keyId: key?.keyId ?? "", ttlSeconds: 2 * 86_400 });
    expect(rotated.key?.expiresAtMs).toBeGreaterThanOrEqual(before + 2 * 86_400_000);
    expect(rotated.key?.expiresAtMs).toBeLessThan(Date.now() + 2 * 86_400_000 + 1);
    const tooLong = await failure(
      admin().rotateKey({ keyId: rotated.key?.keyId ?? "", ttlSeconds: 10_000 * 86_400 }),
    );
    expect(tooLong.param).toBe("ttl_seconds");
  });

  it("caps a rotated key's remaining life at the default overlap of 14 days", async () => {
    const { key } = await admin().createKey({ tenantId: "acme" });
    const before = Date.now();
    const { previous } = await admin().rotateKey({ keyId: key?.keyId ?? "" });
    expect(previous?.expiresAtMs).toBeGreaterThanOrEqual(before + 14 * 86_400_000);
    expect(previous?.expiresAtMs).toBeLessThan(Date.now() + 14 * 86_400_000 + 1);
  });

  it("flags keys that expire within the warning window", async () => {
    const soon = await admin().createKey({ tenantId: "acme", ttlSeconds: 3 * 86_400 });
    const later = await admin().createKey({ tenantId: "acme", ttlSeconds: 60 * 86_400 });
    const shown = await admin().getKey({ keyId: soon.key?.keyId ?? "" });
    expect(shown.key?.expiringSoon).toBe(true);
    expect((await admin().getKey({ keyId: later.key?.keyId ?? "" })).key?.expiringSoon).toBe(false);
  });

  it("pushes a revocation to watchers within the feed's poll interval", async () => {
    const { key } = await admin().createKey({ tenantId: "acme" });
    const abort = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const event of auth().watchRevocations({}, { signal: abort.signal })) {
        // A new watcher may also get the changes of the feed's last few seconds (it re-reads a
        // window so that late writes are not missed): harmless evictions, skipped here.
        if (event.event.case === "revokedKeyId" && event.event.value === key?.keyId) {
          seen.push(event.event.value);
          abort.abort();
        }
      }
    })().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    const revokedAt = Date.now();
    await admin().revokeKey({ keyId: key?.keyId ?? "" });
    await watching;
    expect(seen).toEqual([key?.keyId]);
    expect(Date.now() - revokedAt).toBeLessThan(2_000);
  });

  it("suspends a tenant: its keys are refused with 403 at once, and work again when reactivated", async () => {
    await admin().createTenant({ tenantId: "suspendme" });
    const { secret } = await admin().createKey({ tenantId: "suspendme" });
    await auth().verifyKey({ apiKey: secret });
    await admin().updateTenant({ tenantId: "suspendme", status: TenantStatus.SUSPENDED });
    await new Promise((r) => setTimeout(r, 200));
    expect((await failure(auth().verifyKey({ apiKey: secret }))).reason).toBe("permission_denied");
    await admin().updateTenant({ tenantId: "suspendme", status: TenantStatus.ACTIVE });
    await new Promise((r) => setTimeout(r, 200));
    await auth().verifyKey({ apiKey: secret });
  });

  it.each([
    [{ guardrail: { identifier: "g", version: "1" } }, "policy.guardrail"],
    [{ contentLogging: true }, "policy.content_logging"],
    [{ allowedSourceCidrs: ["10.0.0.0/33"] }, "policy.allowed_source_cidrs[0]"],
    [{ allowedRegions: ["mars"] }, "policy.allowed_regions[0]"],
    [{ allowedEndpoints: ["completions"] }, "policy.allowed_endpoints[0]"],
    [
      {
        toolPolicy: {
          enforced: true,
          allowed: [{ name: "fs_read", argumentsSchemaJson: "{nope" }],
        },
      },
      "policy.tool_policy.allowed[0].arguments_schema_json",
    ],
    [
      {
        toolPolicy: {
          enforced: true,
          allowed: [{ name: "fs_read", argumentsSchemaJson: '{"type":"strnig"}' }],
        },
      },
      "policy.tool_policy.allowed[0].arguments_schema_json",
    ],
    [
      // A lookahead: RE2, which runs argument patterns in linear time, has none.
      {
        toolPolicy: {
          enforced: true,
          allowed: [
            {
              name: "fs_read",
              argumentsSchemaJson: '{"properties":{"p":{"type":"string","pattern":"^(?!x)"}}}',
            },
          ],
        },
      },
      "policy.tool_policy.allowed[0].arguments_schema_json",
    ],
    [{ limits: { budget: { tokens: 1000 } } }, "policy.limits.budget.period"],
    [{ limits: { budget: { period: 1, costMicros: 1.5 } } }, "policy.limits.budget.cost_micros"],
    [{ limits: { models: [{ model: "bad model", limits: {} }] } }, "policy.limits.models[0].model"],
  ])("refuses key policy %j naming %s", async (policy, param) => {
    const error = await failure(admin().createKey({ tenantId: "acme", policy }));
    expect([error.reason, error.param]).toEqual(["invalid_request", param]);
  });

  it("stores a tenant's full policy and returns it", async () => {
    const policy = {
      allowedSourceCidrs: ["10.0.0.0/8", "2001:db8::/32"],
      allowedRegions: ["eu"],
      guardrail: { identifier: "gr-1", version: "DRAFT" },
      crossAccount: { roleArn: "arn:aws:iam::123456789012:role/strata", externalId: "ext-123" },
      toolPolicy: {
        enforced: true,
        allowed: [{ name: "fs_*", argumentsSchemaJson: '{"type":"object"}' }],
      },
      secrets: SecretsMode.BLOCK,
    };
    const { tenant } = await admin().createTenant({ tenantId: "policied", policy });
    expect(tenant?.policy).toMatchObject(policy);
    const { secret } = await admin().createKey({ tenantId: "policied" });
    expect((await auth().verifyKey({ apiKey: secret })).tenantPolicy).toMatchObject(policy);
  });
});

describe("admin tokens and tenant isolation", () => {
  const scoped = async (tenantId: string) => {
    const { secret } = await admin().createAdminToken({
      name: `${tenantId}-admin`,
      tenantId,
      ttlSeconds: 600,
    });
    return admin(secret);
  };

  it("limits a tenant-scoped admin token to its own tenant's keys and audit", async () => {
    await admin().createTenant({ tenantId: "alpha" });
    await admin().createTenant({ tenantId: "beta" });
    const betaKey = await admin().createKey({ tenantId: "beta", name: "beta-key" });
    const alphaAdmin = await scoped("alpha");

    const own = await alphaAdmin.createKey({ tenantId: "alpha", name: "mine" });
    expect(own.secret).toMatch(/^sk-strata-/);
    expect((await alphaAdmin.listKeys({})).keys.every((k) => k.tenantId === "alpha")).toBe(true);
    expect((await failure(alphaAdmin.listKeys({ tenantId: "beta" }))).reason).toBe(
      "permission_denied",
    );
    expect((await failure(alphaAdmin.createKey({ tenantId: "beta" }))).reason).toBe(
      "permission_denied",
    );
    expect((await failure(alphaAdmin.getKey({ keyId: betaKey.key?.keyId ?? "" }))).reason).toBe(
      "not_found",
    );
    expect((await failure(alphaAdmin.revokeKey({ keyId: betaKey.key?.keyId ?? "" }))).reason).toBe(
      "not_found",
    );
    expect((await failure(alphaAdmin.rotateKey({ keyId: betaKey.key?.keyId ?? "" }))).reason).toBe(
      "not_found",
    );
    expect((await failure(alphaAdmin.listAuditEvents({ tenantId: "beta" }))).reason).toBe(
      "permission_denied",
    );
    expect((await alphaAdmin.listAuditEvents({})).events.every((e) => e.tenantId === "alpha")).toBe(
      true,
    );
    expect((await alphaAdmin.listTenants({})).tenants.map((t) => t.tenantId)).toEqual(["alpha"]);
    expect((await failure(alphaAdmin.createTenant({ tenantId: "gamma" }))).reason).toBe(
      "permission_denied",
    );
    expect((await failure(alphaAdmin.createAdminToken({ name: "escalate" }))).reason).toBe(
      "permission_denied",
    );
    expect((await failure(alphaAdmin.updateTenant({ tenantId: "alpha", policy: {} }))).reason).toBe(
      "permission_denied",
    );
    // Beta's key still works: nothing alpha's admin did reached it.
    await auth().verifyKey({ apiKey: betaKey.secret });
  });

  it("stops accepting an admin token once revoked or expired", async () => {
    const { secret, token } = await admin().createAdminToken({ name: "short", ttlSeconds: 1 });
    await admin(secret).listTenants({});
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await failure(admin(secret).listTenants({}))).reason).toBe("unauthenticated");
    const other = await admin().createAdminToken({ name: "revoked" });
    await admin().revokeAdminToken({ tokenId: other.token?.tokenId ?? "" });
    expect((await failure(admin(other.secret).listTenants({}))).reason).toBe("unauthenticated");
    const listed = await admin().listAdminTokens({});
    expect(JSON.stringify(listed)).not.toContain(secret.slice(26));
    expect(listed.tokens.map((t) => t.tokenId)).toContain(token?.tokenId);
  });

  it("audits every admin action and every refused call, without token material", async () => {
    await admin().createKey({ tenantId: "acme", name: "audited" });
    await failure(admin("sk-strata-guess").listTenants({}));
    const { events } = await admin().listAuditEvents({ limit: 1000 });
    const actions = events.map((e) => `${e.action}:${e.result}`);
    expect(actions).toContain("key.create:success");
    expect(actions).toContain("ListTenants:denied");
    expect(JSON.stringify(events)).not.toContain(adminToken);
    expect(JSON.stringify(events)).not.toContain("sk-strata-guess");
    const denied = events.find((e) => e.result === "denied");
    expect(denied?.source).toMatch(/127\.0\.0\.1/);
  });

  it("records gateway security events in the audit log", async () => {
    await auth().recordEvents({
      events: [
        {
          principal: { tenantId: "acme", keyId: "k1" },
          action: "tool_call.blocked",
          target: "fs_write",
          requestId: "req_1",
        },
      ],
    });
    const { events } = await admin().listAuditEvents({ tenantId: "acme" });
    expect(events.find((e) => e.action === "tool_call.blocked")).toMatchObject({
      result: "blocked",
      target: "fs_write",
      actor: "key:k1",
    });
  });
});
