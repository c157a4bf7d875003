import { createHash } from "node:crypto";
import type { ConnectError } from "@connectrpc/connect";
import { type LocalDynamo, startDynalite } from "@strata/devstack";
import { createDynamoClient, ensureTables } from "@strata/dynamodb";
import { fromConnectError } from "@strata/errors";
import { bearerAuth, createLogger, createRpcClient, createRpcTransport } from "@strata/platform";
import { AuthAdminService, AuthService, KeyStatus } from "@strata/proto";
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
    adminTokenHashes: [createHash("sha256").update(adminToken).digest("hex")],
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
