import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { type ServiceProcess, type Stack, startStack } from "@strata/devstack";
import { createDynamoClient } from "@strata/dynamodb";
import { bearerAuth, createRpcClient, createRpcTransport } from "@strata/platform";
import { AuthAdminService, TenantStatus } from "@strata/proto";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A stack of its own: two gateway replicas (the second behind a trusted "proxy" on loopback), so
// revocation propagation and client addresses can be measured, and a closed world whose every
// table, log line and metric can be searched for key material at the end.
let stack: Stack;
let replica: ServiceProcess;
let logFile: string;
const run = promisify(execFile);

beforeAll(async () => {
  logFile = join(mkdtempSync(join(tmpdir(), "strata-sec-")), "services.log");
  stack = await startStack({ logFile, logLevel: "debug" });
  replica = await stack.startGateway({ STRATA_TRUSTED_PROXY_CIDRS: "127.0.0.1/32" });
}, 60_000);
afterAll(() => stack?.stop());

const gateways = () => [stack.gatewayUrl, `http://127.0.0.1:${replica.ports.http}`];
const admin = (token = stack.adminToken) =>
  createRpcClient(
    AuthAdminService,
    createRpcTransport({ baseUrl: stack.adminUrl, interceptors: [bearerAuth(token)] }),
  );
const client = (apiKey: string, baseURL = stack.gatewayUrl, headers: Record<string, string> = {}) =>
  new OpenAI({ apiKey, baseURL: `${baseURL}/v1`, maxRetries: 0, defaultHeaders: headers });
const chat = (c: OpenAI) =>
  c.chat.completions
    .create({ model: "claude-3-haiku", messages: [{ role: "user", content: "hi" }] })
    .catch((e: unknown) => e);
let counter = 0;
const tenant = async (policy = {}) => {
  const tenantId = `sec-${counter++}`;
  await admin().createTenant({ tenantId, policy });
  return tenantId;
};

describe("key lifecycle across gateway replicas", () => {
  it("revokes a key on every gateway replica within about a second, caches included", async () => {
    const tenantId = await tenant();
    const { secret, key } = await admin().createKey({ tenantId });
    for (const url of gateways()) expect(await chat(client(secret, url))).not.toBeInstanceOf(Error);
    const revokedAt = performance.now();
    await admin().revokeKey({ keyId: key?.keyId ?? "" });
    const propagation = await Promise.all(
      gateways().map(async (url) => {
        for (;;) {
          const result = await chat(client(secret, url));
          if (result instanceof OpenAI.AuthenticationError) {
            expect(result.code).toBe("revoked_api_key");
            return performance.now() - revokedAt;
          }
          if (performance.now() - revokedAt > 5_000)
            throw new Error(`${url} still accepts a revoked key`);
          await new Promise((r) => setTimeout(r, 10));
        }
      }),
    );
    console.log(
      `revocation propagation to 2 gateway replicas: ${propagation.map((ms) => `${ms.toFixed(0)} ms`).join(", ")}`,
    );
    for (const ms of propagation) expect(ms).toBeLessThan(1_500);
  });

  it("rotates a key: both work during the overlap, only the new one after", async () => {
    const tenantId = await tenant();
    const { key, secret: oldSecret } = await admin().createKey({ tenantId, name: "svc" });
    const rotated = await admin().rotateKey({ keyId: key?.keyId ?? "", overlapSeconds: 2 });
    for (const url of gateways()) {
      expect(await chat(client(oldSecret, url))).not.toBeInstanceOf(Error);
      expect(await chat(client(rotated.secret, url))).not.toBeInstanceOf(Error);
    }
    await new Promise((r) => setTimeout(r, 2_100));
    for (const url of gateways()) {
      expect(await chat(client(oldSecret, url))).toMatchObject({
        status: 401,
        code: "expired_api_key",
      });
      expect(await chat(client(rotated.secret, url))).not.toBeInstanceOf(Error);
    }
  });

  it("refuses a suspended tenant's keys at once with 403, and serves them again when reactivated", async () => {
    const tenantId = await tenant();
    const { secret } = await admin().createKey({ tenantId });
    expect(await chat(client(secret))).not.toBeInstanceOf(Error);
    await admin().updateTenant({ tenantId, status: TenantStatus.SUSPENDED });
    await new Promise((r) => setTimeout(r, 600));
    expect(await chat(client(secret))).toMatchObject({ status: 403, code: "tenant_suspended" });
    await admin().updateTenant({ tenantId, status: TenantStatus.ACTIVE });
    await new Promise((r) => setTimeout(r, 600));
    expect(await chat(client(secret))).not.toBeInstanceOf(Error);
  });
});

describe("source addresses", () => {
  it("refuses clients outside the allowed CIDRs with 401 ip_not_authorized, and audits it", async () => {
    const tenantId = await tenant({ allowedSourceCidrs: ["10.0.0.0/8"] });
    const { secret } = await admin().createKey({ tenantId });
    expect(await chat(client(secret))).toMatchObject({ status: 401, code: "ip_not_authorized" });
    for (let i = 0; i < 100; i++) {
      const { events } = await admin().listAuditEvents({ tenantId });
      if (
        events.some(
          (e) => e.action === "source.denied" && e.target === "127.0.0.1" && e.result === "blocked",
        )
      )
        return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("the refused address was not audited");
  });

  it("believes the forwarding header only from a trusted proxy", async () => {
    const tenantId = await tenant({ allowedSourceCidrs: ["10.0.0.0/8"] });
    const { secret } = await admin().createKey({ tenantId });
    const forwarded = { "x-forwarded-for": "10.20.30.40" };
    // The replica trusts 127.0.0.1 as its proxy; the first gateway trusts nobody.
    expect(await chat(client(secret, gateways()[1], forwarded))).not.toBeInstanceOf(Error);
    expect(await chat(client(secret, gateways()[0], forwarded))).toMatchObject({
      status: 401,
      code: "ip_not_authorized",
    });
  });

  it("lets a key narrow its tenant's CIDRs, never widen them", async () => {
    const tenantId = await tenant({ allowedSourceCidrs: ["127.0.0.0/8"] });
    const narrow = await admin().createKey({
      tenantId,
      policy: { allowedSourceCidrs: ["127.0.0.1/32"] },
    });
    const elsewhere = await admin().createKey({
      tenantId,
      policy: { allowedSourceCidrs: ["192.168.0.0/16"] },
    });
    expect(await chat(client(narrow.secret))).not.toBeInstanceOf(Error);
    expect(await chat(client(elsewhere.secret))).toMatchObject({
      status: 401,
      code: "ip_not_authorized",
    });
  });
});

describe("tenant isolation through the CLI with a tenant-scoped admin token", () => {
  it("sees and changes only its own tenant", async () => {
    const a = await tenant({ allowedModels: ["anthropic.*"] });
    const b = await tenant({ allowedModels: ["amazon.*"] });
    const bKey = await admin().createKey({ tenantId: b, name: "b-key" });
    const { secret: aAdmin } = await admin().createAdminToken({
      name: "a-admin",
      tenantId: a,
      ttlSeconds: 600,
    });
    const strata = (...args: string[]) =>
      run(process.execPath, ["packages/cli/bin/strata.js", ...args], {
        env: { ...process.env, STRATA_ADMIN_URL: stack.adminUrl, STRATA_ADMIN_TOKEN: aAdmin },
      }).catch((e: { code: number; stderr: string }) => e);

    const created = await strata("keys", "create", "--tenant", a, "--json");
    const aSecret = (JSON.parse((created as { stdout: string }).stdout) as { secret: string })
      .secret;
    expect(await strata("keys", "list", "--tenant", b)).toMatchObject({ code: 1 });
    expect(await strata("keys", "revoke", bKey.key?.keyId ?? "")).toMatchObject({ code: 1 });
    expect(await strata("audit", "--tenant", b)).toMatchObject({ code: 1 });
    expect(await strata("tenants", "suspend", b)).toMatchObject({ code: 1 });
    const own = (await strata("keys", "list")) as { stdout: string };
    expect(own.stdout).not.toContain(bKey.key?.keyId ?? "");
    // A's key cannot use B's models, and B's key still works.
    expect(
      await client(aSecret)
        .chat.completions.create({
          model: "nova-micro",
          messages: [{ role: "user", content: "x" }],
        })
        .catch((e) => e),
    ).toMatchObject({
      status: 403,
      code: "model_not_allowed",
    });
    expect(
      await client(bKey.secret).chat.completions.create({
        model: "nova-micro",
        messages: [{ role: "user", content: "x" }],
      }),
    ).toMatchObject({
      object: "chat.completion",
    });
    const audit = (await run(
      process.execPath,
      ["packages/cli/bin/strata.js", "audit", "--tenant", b],
      {
        env: {
          ...process.env,
          STRATA_ADMIN_URL: stack.adminUrl,
          STRATA_ADMIN_TOKEN: stack.adminToken,
        },
      },
    )) as { stdout: string };
    expect(audit.stdout).toContain("denied");
  });
});

describe("key material", () => {
  it("never appears in any table, log line or metric of a full run", async () => {
    // Exercise every path that touches keys: create (API and CLI), use, rotate, revoke, bad keys.
    const tenantId = await tenant();
    const issued: string[] = [];
    for (let i = 0; i < 3; i++)
      issued.push((await admin().createKey({ tenantId, name: `k${i}` })).secret);
    const cli = await run(
      process.execPath,
      ["packages/cli/bin/strata.js", "keys", "create", "--tenant", tenantId, "--json"],
      {
        env: {
          ...process.env,
          STRATA_ADMIN_URL: stack.adminUrl,
          STRATA_ADMIN_TOKEN: stack.adminToken,
        },
      },
    );
    issued.push((JSON.parse(cli.stdout) as { secret: string }).secret);
    const keys = await admin().listKeys({ tenantId });
    const rotated = await admin().rotateKey({ keyId: keys.keys[0]?.keyId ?? "" });
    issued.push(rotated.secret);
    await admin().revokeKey({ keyId: keys.keys[1]?.keyId ?? "" });
    const adminTokens = [
      stack.adminToken,
      (await admin().createAdminToken({ name: "scan", tenantId })).secret,
    ];
    for (const key of issued) {
      await chat(client(key));
      const stream = await client(key)
        .chat.completions.create({
          model: "claude-3-haiku",
          stream: true,
          messages: [{ role: "user", content: "s" }],
        })
        .catch(() => undefined);
      if (stream) for await (const _ of stream);
      await client(key)
        .embeddings.create({ model: "titan-embed-text-v2", input: "e" })
        .catch(() => undefined);
    }
    await chat(client(`${issued[0]?.slice(0, -3)}abc`));
    await admin(`${adminTokens[1]?.slice(0, -3)}abc`)
      .listTenants({})
      .catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1_500)); // ledger and audit flushes

    const secrets = [...issued, ...adminTokens];
    // The secret half of a Strata key or admin token (prefix, id, `_`, secret); any other
    // credential whole. (devstack's bootstrap admin token is base64url: splitting it at a `_`
    // could leave a fragment of a few characters that any table might contain by chance.)
    const secretParts = secrets.map(
      (s) => /^(?:sk-strata|strata-admin)-[0-9A-Za-z]{12}_([0-9A-Za-z]{49})$/.exec(s)?.[1] ?? s,
    );
    expect(secretParts.every((part) => part.length >= 40)).toBe(true);
    const haystacks: Array<[string, string]> = [];
    const { client: ddb, doc } = createDynamoClient({
      region: "us-east-1",
      endpoint: stack.dynamoEndpoint,
    });
    for (const table of (await ddb.send(new ListTablesCommand({}))).TableNames ?? []) {
      const { Items = [] } = await doc.send(new ScanCommand({ TableName: table }));
      expect(Items.length, `table ${table} was scanned`).toBeGreaterThanOrEqual(0);
      haystacks.push([`table ${table}`, JSON.stringify(Items)]);
    }
    haystacks.push(["service logs", readFileSync(logFile, "utf8")]);
    for (const [name, service] of Object.entries({ ...stack.services, replica })) {
      const metrics = await (
        await fetch(`http://127.0.0.1:${service.ports.metrics}/metrics`)
      ).text();
      haystacks.push([`${name} metrics`, metrics]);
    }
    expect(haystacks.find(([name]) => name === "service logs")?.[1].length).toBeGreaterThan(10_000);
    for (const [name, text] of haystacks) {
      for (const part of secretParts)
        expect(text.includes(part), `${name} contains key material`).toBe(false);
      expect(
        /sk-strata-[0-9A-Za-z]{12}_[0-9A-Za-z]{49}/.test(text),
        `${name} contains a whole key`,
      ).toBe(false);
      expect(
        /strata-admin-[0-9A-Za-z]{12}_[0-9A-Za-z]{49}/.test(text),
        `${name} contains an admin token`,
      ).toBe(false);
    }
  }, 60_000);
});
