// What a client of the gateway notices when one of Strata's dependencies goes away or hangs:
// auth, metering, Redis (metering's limit store), and DynamoDB (auth's keys, metering's ledger).
// The real services run as child processes with their production main.ts; each dependency sits
// behind a TCP relay the test can stall or cut, or is killed by its own pid (auth, metering,
// redis-server). Timeouts are configured short so every bound is checked in seconds.
// Needs `redis-server` on PATH: scripts/ensure-system-tools.sh installs it.
import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { Code, ConnectError } from "@connectrpc/connect";
import { type BedrockEmulator, createBedrockEmulator } from "@strata/bedrock-emulator";
import {
  type LocalDynamo,
  type ServiceProcess,
  startDynalite,
  startService,
} from "@strata/devstack";
import { createDynamoClient, type DynamoClients } from "@strata/dynamodb";
import { bearerAuth, createRpcClient, createRpcTransport } from "@strata/platform";
import { AuthAdminService, MeteringService } from "@strata/proto";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort, startRedis, stopRedis } from "./support/redis.ts";
import { startTcpRelay, type TcpRelay } from "./support/tcp-relay.ts";

/** The gateways' deadline for each auth and metering call (STRATA_CONTROL_TIMEOUT_MS). */
const controlTimeoutMs = 500;
/** How long a gateway trusts a verified key (STRATA_AUTH_CACHE_MAX_TTL_MS). */
const cacheTtlMs = 5_000;
/** ... and once it has lost auth's revocation stream (STRATA_AUTH_UNWATCHED_TTL_MS). */
const unwatchedTtlMs = 1_000;
/** Metering's deadline for one Redis command (STRATA_REDIS_TIMEOUT_MS). */
const redisTimeoutMs = 200;
/** Metering's deadline for one ledger write to DynamoDB (STRATA_LEDGER_WRITE_TIMEOUT_MS). */
const ledgerWriteTimeoutMs = 500;
/** Slack for a loaded 2-core machine on top of every configured bound. */
const slackMs = 1_500;
const model = "claude-3-haiku";

const dir = mkdtempSync(join(tmpdir(), "strata-faults-"));
const logFile = join(dir, "services.log");
const processes = new Set<ServiceProcess>();
let output: number;
let dynamo: LocalDynamo;
let emulator: BedrockEmulator;
let emulatorUrl: string;
let redisPort: number;
let redis: ChildProcess | undefined;
/** Reads the usage ledger straight from dynalite, past every relay. */
let ledgerReader: DynamoClients | undefined;
let adminToken: string;

/** Relays: gateways → auth, gateways → metering, auth → DynamoDB, metering → DynamoDB. */
let toAuth: TcpRelay;
let toMetering: TcpRelay;
let authToDynamo: TcpRelay;
let meteringToDynamo: TcpRelay;
let auth: ServiceProcess;
let metering: ServiceProcess;
let inference: ServiceProcess;
/** STRATA_METERING_FAIL_MODE=open. */
let gatewayOpen: ServiceProcess;
/** STRATA_METERING_FAIL_MODE=closed. */
let gatewayClosed: ServiceProcess;

const common = {
  STRATA_HOST: "127.0.0.1",
  STRATA_PORT: "0",
  STRATA_METRICS_PORT: "0",
  STRATA_LOG_LEVEL: "info",
  STRATA_SHUTDOWN_GRACE_MS: "3000",
};
const dynamoEnv = (relay: TcpRelay) => ({
  STRATA_DYNAMODB_ENDPOINT: `http://127.0.0.1:${relay.port}`,
  STRATA_DYNAMODB_REGION: "us-east-1",
  STRATA_CREATE_TABLES: "true",
});

async function start(
  name: "auth" | "metering" | "inference" | "gateway",
  env: Record<string, string>,
  out = output,
): Promise<ServiceProcess> {
  const proc = await startService({
    packageName: `@strata/${name}`,
    name,
    output: out,
    env: { ...common, ...env },
  });
  processes.add(proc);
  return proc;
}

/** Kills a service by its pid, as a crash or an OOM kill would, and waits for it to exit. */
async function kill(proc: ServiceProcess): Promise<void> {
  const { child } = proc;
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(child.pid, "SIGKILL");
  await exited;
  processes.delete(proc);
}

const startAuth = () =>
  start("auth", {
    ...dynamoEnv(authToDynamo),
    STRATA_ADMIN_PORT: "0",
    STRATA_ADMIN_TOKEN_SHA256: sha256(adminToken),
  });
const meteringEnv = (failMode: "open" | "closed") => ({
  ...dynamoEnv(meteringToDynamo),
  STRATA_LEDGER_FLUSH_MS: "100",
  STRATA_LEDGER_WRITE_TIMEOUT_MS: String(ledgerWriteTimeoutMs),
  STRATA_LIMITS_STORE: "redis",
  STRATA_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
  STRATA_REDIS_TIMEOUT_MS: String(redisTimeoutMs),
  STRATA_LIMITS_FAIL_MODE: failMode,
});
const startMetering = () => start("metering", meteringEnv("open"));
const gatewayEnv = (meteringUrl: string) => ({
  STRATA_AUTH_URL: `http://127.0.0.1:${toAuth.port}`,
  STRATA_METERING_URL: meteringUrl,
  STRATA_INFERENCE_URL: `http://127.0.0.1:${inference.ports.grpc}`,
  STRATA_CONTROL_TIMEOUT_MS: String(controlTimeoutMs),
  STRATA_AUTH_CACHE_MAX_TTL_MS: String(cacheTtlMs),
  STRATA_AUTH_UNWATCHED_TTL_MS: String(unwatchedTtlMs),
});
function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

beforeAll(async () => {
  output = openSync(logFile, "a");
  process.stdout.write(`dependency faults: service logs in ${logFile}\n`);
  adminToken = `strata-admin-${randomBytes(32).toString("base64url")}`;
  dynamo = await startDynalite();
  const dynamoPort = Number(new URL(dynamo.endpoint).port);
  authToDynamo = await startTcpRelay(dynamoPort);
  meteringToDynamo = await startTcpRelay(dynamoPort);
  emulator = createBedrockEmulator();
  emulatorUrl = (await emulator.listen(0, "127.0.0.1")).url;
  redisPort = await freePort();
  redis = await startRedis(redisPort);

  [metering, inference, auth] = await Promise.all([
    startMetering(),
    start("inference", {
      STRATA_BEDROCK_ENDPOINT: emulatorUrl,
      STRATA_BEDROCK_REGION: "us-east-1",
      STRATA_STS_ENDPOINT: emulatorUrl,
    }),
    startAuth(),
  ]);
  toAuth = await startTcpRelay(auth.ports.grpc ?? 0);
  toMetering = await startTcpRelay(metering.ports.grpc ?? 0);
  const meteringUrl = `http://127.0.0.1:${toMetering.port}`;
  [gatewayOpen, gatewayClosed] = await Promise.all([
    start("gateway", { ...gatewayEnv(meteringUrl), STRATA_METERING_FAIL_MODE: "open" }),
    start("gateway", { ...gatewayEnv(meteringUrl), STRATA_METERING_FAIL_MODE: "closed" }),
  ]);
  await watchesUp();
});

afterAll(async () => {
  for (const proc of [...processes].reverse()) await proc.stop(2_000).catch(() => undefined);
  for (const relay of [toAuth, toMetering, authToDynamo, meteringToDynamo]) await relay?.close();
  await stopRedis(redis);
  ledgerReader?.client.destroy();
  await emulator?.close();
  await dynamo?.close();
  if (output !== undefined) closeSync(output);
});

/** Polls until `check` returns a value, or fails after the timeout. */
async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(50);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The sum of a metric's samples whose labels include `labels`, from a service's /metrics. */
async function metric(
  proc: ServiceProcess,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${proc.ports.metrics}/metrics`);
  let sum = 0;
  for (const line of (await res.text()).split("\n")) {
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (sample?.[1] !== name) continue;
    const text = sample[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => text.includes(`${k}="${v}"`)))
      sum += Number(sample[3]);
  }
  return sum;
}

let adminClient: ReturnType<typeof createAdmin> | undefined;
let adminOf: ServiceProcess | undefined;
function createAdmin(proc: ServiceProcess) {
  return createRpcClient(
    AuthAdminService,
    createRpcTransport({
      baseUrl: `http://127.0.0.1:${proc.ports.admin}`,
      interceptors: [bearerAuth(adminToken)],
    }),
  );
}
/** The admin API of the auth process running now. */
function admin() {
  if (!adminClient || adminOf !== auth) {
    adminClient = createAdmin(auth);
    adminOf = auth;
  }
  return adminClient;
}

let tenants = 0;
/** A fresh tenant (with `limits` on its policy, if any) and one key of it. */
async function newKey(limits?: { rate: { requestsPerMinute: number } }) {
  const tenantId = `faults-${Date.now().toString(36)}-${tenants++}`;
  await admin().createTenant({ tenantId, policy: limits ? { limits } : {} });
  const created = await admin().createKey({ tenantId, name: "faults" });
  return { tenantId, apiKey: created.secret };
}

/** What a client saw of one chat completion. */
interface Seen {
  status: number;
  /** When the request was sent (performance.now()). */
  sentAt: number;
  elapsedMs: number;
  requestId: string | null;
  retryAfter: string | null;
  error?: { type: unknown; code: unknown; message: string };
}

/** One chat completion through a gateway with the real OpenAI SDK, without retries. */
async function chat(gateway: ServiceProcess, apiKey: string): Promise<Seen> {
  const client = new OpenAI({
    apiKey,
    baseURL: `http://127.0.0.1:${gateway.ports.http}/v1`,
    maxRetries: 0,
    timeout: 30_000,
  });
  const sentAt = performance.now();
  try {
    const { response } = await client.chat.completions
      .create({ model, messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    return {
      status: response.status,
      sentAt,
      elapsedMs: performance.now() - sentAt,
      requestId: response.headers.get("x-request-id"),
      retryAfter: response.headers.get("retry-after"),
    };
  } catch (error) {
    if (!(error instanceof OpenAI.APIError) || error.status === undefined) throw error;
    const body = error.error as { message?: string } | undefined;
    return {
      status: error.status,
      sentAt,
      elapsedMs: performance.now() - sentAt,
      requestId: error.headers?.get("x-request-id") ?? null,
      retryAfter: error.headers?.get("retry-after") ?? null,
      error: { type: error.type, code: error.code, message: body?.message ?? "" },
    };
  }
}

/** A dependency outage as the OpenAI SDKs read it: 503, server_error, retry in 1 s. */
const outage = {
  status: 503,
  retryAfter: "1",
  error: { type: "server_error", code: "service_unavailable" },
};

/** The request ids of a tenant's usage ledger items, read from DynamoDB directly. */
async function ledgerRequestIds(tenantId: string): Promise<string[]> {
  ledgerReader ??= createDynamoClient({ region: "us-east-1", endpoint: dynamo.endpoint });
  const { Items = [] } = await ledgerReader.doc.send(
    new QueryCommand({
      TableName: "strata-usage",
      KeyConditionExpression: "tenantId = :t",
      ExpressionAttributeValues: { ":t": tenantId },
    }),
  );
  return Items.map((item) => String(item.requestId)).sort();
}

/** Waits until each gateway follows auth's revocations (keys are then cached the full TTL). */
async function watchesUp(): Promise<void> {
  for (const gateway of [gatewayOpen, gatewayClosed])
    await eventually(async () =>
      (await metric(gateway, "strata_gateway_revocation_watch_up")) === 1 ? true : undefined,
    );
}

/** The gateway's own usage queue: nothing waiting for metering, nothing lost. */
async function usageDelivered(gateway: ServiceProcess): Promise<void> {
  await eventually(
    async () =>
      (await metric(gateway, "strata_gateway_usage_records_pending")) === 0 ? true : undefined,
    15_000,
  );
  expect(await metric(gateway, "strata_gateway_usage_records_lost_total")).toBe(0);
}

describe("auth unavailable", () => {
  it("keeps a verified key working for STRATA_AUTH_UNWATCHED_TTL_MS once auth is down, and answers 503 otherwise", async () => {
    await watchesUp();
    const { apiKey: verified } = await newKey();
    const { apiKey: unverified } = await newKey();
    expect((await chat(gatewayOpen, verified)).status).toBe(200);

    const killedAt = performance.now();
    await kill(auth);
    try {
      expect((await chat(gatewayOpen, verified)).status).toBe(200);
      const refused = await chat(gatewayOpen, unverified);
      expect(refused).toMatchObject(outage);
      expect(refused.error?.message).toMatch(/API keys cannot be verified right now/);
      expect(refused.elapsedMs).toBeLessThan(controlTimeoutMs + slackMs);

      // The verified key works until the gateway's cut-short entry ends (it was cached for
      // STRATA_AUTH_CACHE_MAX_TTL_MS while the revocation stream was up), then gets the same 503.
      let ended: Seen | undefined;
      while (!ended && performance.now() < killedAt + unwatchedTtlMs + 2 * slackMs) {
        const seen = await chat(gatewayOpen, verified);
        if (seen.status !== 200) ended = seen;
        await sleep(100);
      }
      expect(ended).toMatchObject(outage);
      // Not before the entry's end (less the time a request takes to reach the gateway), and
      // long before the lifetime it was cached with.
      expect(ended?.sentAt).toBeGreaterThanOrEqual(killedAt + unwatchedTtlMs - 250);
      expect(ended?.sentAt).toBeLessThan(killedAt + unwatchedTtlMs + slackMs);
      expect(await metric(gatewayOpen, "strata_gateway_auth_unreachable_total")).toBeGreaterThan(0);
      expect(await metric(gatewayOpen, "strata_gateway_revocation_watch_up")).toBe(0);
    } finally {
      auth = await startAuth();
      toAuth.retarget(auth.ports.grpc ?? 0);
    }
    await eventually(async () =>
      (await chat(gatewayOpen, unverified)).status === 200 ? true : undefined,
    );
    expect((await chat(gatewayOpen, verified)).status).toBe(200);
  });

  it("answers 503 within the deadline while auth hangs, and keeps serving verified keys", async () => {
    await watchesUp();
    const { apiKey: verified } = await newKey();
    const { apiKey: unverified } = await newKey();
    expect((await chat(gatewayOpen, verified)).status).toBe(200);
    toAuth.set("stalled");
    try {
      const served = await chat(gatewayOpen, verified);
      expect(served.status).toBe(200);
      expect(served.elapsedMs).toBeLessThan(slackMs);
      const refused = await chat(gatewayOpen, unverified);
      expect(refused).toMatchObject(outage);
      expect(refused.elapsedMs).toBeGreaterThanOrEqual(controlTimeoutMs - 50);
      expect(refused.elapsedMs).toBeLessThan(controlTimeoutMs + slackMs);
    } finally {
      toAuth.set("open");
    }
    await eventually(async () =>
      (await chat(gatewayOpen, unverified)).status === 200 ? true : undefined,
    );
  });
});

describe("DynamoDB unavailable to auth", () => {
  it("answers 503 with retry-after while keys cannot be read, and verified keys keep working", async () => {
    await watchesUp();
    const { apiKey: verified } = await newKey();
    const { apiKey: unverified } = await newKey();
    expect((await chat(gatewayOpen, verified)).status).toBe(200);
    authToDynamo.set("down");
    try {
      expect((await chat(gatewayOpen, verified)).status).toBe(200);
      const refused = await chat(gatewayOpen, unverified);
      expect(refused).toMatchObject(outage);
      expect(refused.elapsedMs).toBeLessThan(controlTimeoutMs + slackMs);
      await eventually(async () =>
        (await metric(auth, "strata_auth_key_verifications_total", { result: "unavailable" })) > 0
          ? true
          : undefined,
      );
      // The admin API says the same: unavailable (503 at an HTTP edge), not an internal error.
      const adminError = await admin()
        .listTenants({})
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(adminError).toBeInstanceOf(ConnectError);
      expect((adminError as ConnectError).code).toBe(Code.Unavailable);
    } finally {
      authToDynamo.set("open");
    }
    await eventually(async () =>
      (await chat(gatewayOpen, unverified)).status === 200 ? true : undefined,
    );
  });

  it("answers 503 within the deadline while DynamoDB hangs under auth", async () => {
    const { apiKey: unverified } = await newKey();
    authToDynamo.set("stalled");
    try {
      const refused = await chat(gatewayOpen, unverified);
      expect(refused).toMatchObject(outage);
      expect(refused.elapsedMs).toBeGreaterThanOrEqual(controlTimeoutMs - 50);
      expect(refused.elapsedMs).toBeLessThan(controlTimeoutMs + slackMs);
    } finally {
      authToDynamo.set("open");
    }
    await eventually(async () =>
      (await chat(gatewayOpen, unverified)).status === 200 ? true : undefined,
    );
  });
});

describe("metering unavailable", () => {
  it("admits without limits (open) or answers 503 (closed) while metering is down; usage is settled when it is back", async () => {
    const { tenantId, apiKey } = await newKey();
    // Warm both gateways' key caches: auth is not what this test takes away.
    expect((await chat(gatewayOpen, apiKey)).status).toBe(200);
    expect((await chat(gatewayClosed, apiKey)).status).toBe(200);
    // Metering acknowledged those; let its ledger take them before it is killed (a SIGKILL loses
    // what its buffer holds, up to STRATA_LEDGER_FLUSH_MS of records).
    await eventually(async () =>
      (await metric(metering, "strata_metering_ledger_backlog")) === 0 ? true : undefined,
    );
    await kill(metering);
    let admitted: Seen;
    try {
      admitted = await chat(gatewayOpen, apiKey);
      expect(admitted.status).toBe(200);
      expect(admitted.elapsedMs).toBeLessThan(controlTimeoutMs + slackMs);
      expect(
        await metric(gatewayOpen, "strata_gateway_metering_unreachable_total", { mode: "open" }),
      ).toBeGreaterThan(0);
      const refused = await chat(gatewayClosed, apiKey);
      expect(refused).toMatchObject(outage);
      expect(refused.error?.message).toMatch(/metering is unavailable/i);
      expect(refused.elapsedMs).toBeLessThan(controlTimeoutMs + slackMs);
      // The admitted request's usage waits in the gateway's queue, counted as pending, not lost.
      await eventually(async () =>
        (await metric(gatewayOpen, "strata_gateway_usage_records_pending")) > 0 ? true : undefined,
      );
      expect(await metric(gatewayOpen, "strata_gateway_usage_records_lost_total")).toBe(0);
    } finally {
      metering = await startMetering();
      toMetering.retarget(metering.ports.grpc ?? 0);
    }
    await usageDelivered(gatewayOpen);
    await usageDelivered(gatewayClosed);
    const ids = await eventually(async () => {
      const found = await ledgerRequestIds(tenantId);
      return found.length === 3 ? found : undefined;
    });
    expect(ids).toContain(admitted.requestId);
  });

  it("waits no longer than the deadline for a hung metering", async () => {
    const { tenantId, apiKey } = await newKey();
    expect((await chat(gatewayOpen, apiKey)).status).toBe(200);
    expect((await chat(gatewayClosed, apiKey)).status).toBe(200);
    toMetering.set("stalled");
    let admitted: Seen;
    try {
      admitted = await chat(gatewayOpen, apiKey);
      expect(admitted.status).toBe(200);
      expect(admitted.elapsedMs).toBeGreaterThanOrEqual(controlTimeoutMs - 50);
      expect(admitted.elapsedMs).toBeLessThan(controlTimeoutMs + slackMs);
      const refused = await chat(gatewayClosed, apiKey);
      expect(refused).toMatchObject(outage);
      expect(refused.elapsedMs).toBeGreaterThanOrEqual(controlTimeoutMs - 50);
      expect(refused.elapsedMs).toBeLessThan(controlTimeoutMs + slackMs);
    } finally {
      toMetering.set("open");
    }
    await usageDelivered(gatewayOpen);
    const ids = await eventually(async () => {
      const found = await ledgerRequestIds(tenantId);
      return found.length === 3 ? found : undefined;
    });
    expect(ids).toContain(admitted.requestId);
  });
});

describe("redis unavailable to metering", () => {
  const limited = { rate: { requestsPerMinute: 1 } };
  afterEach(async () => {
    const alive = redis?.pid && redis.exitCode === null && redis.signalCode === null;
    if (alive && redis?.pid) process.kill(redis.pid, "SIGCONT");
    else redis = await startRedis(redisPort);
  });

  it("admits without limits while redis hangs or is down (STRATA_LIMITS_FAIL_MODE=open), and limits again when it is back", async () => {
    const { tenantId, apiKey } = await newKey(limited);
    expect((await chat(gatewayOpen, apiKey)).status).toBe(200);
    expect(await chat(gatewayOpen, apiKey)).toMatchObject({
      status: 429,
      error: { type: "rate_limit_error" },
    });
    const failOpen = () => metric(metering, "strata_metering_fail_open_admissions_total");
    const unreachable = () => metric(gatewayOpen, "strata_gateway_metering_unreachable_total");
    const before = await failOpen();
    const unreachableBefore = await unreachable();

    if (!redis?.pid) throw new Error("redis is not running");
    process.kill(redis.pid, "SIGSTOP");
    let hung: Seen;
    try {
      hung = await chat(gatewayOpen, apiKey);
    } finally {
      process.kill(redis.pid, "SIGCONT");
    }
    expect(hung.status).toBe(200);
    expect(hung.elapsedMs).toBeLessThan(redisTimeoutMs + slackMs);

    await stopRedis(redis);
    const down = await chat(gatewayOpen, apiKey);
    expect(down.status).toBe(200);
    expect(down.elapsedMs).toBeLessThan(redisTimeoutMs + slackMs);
    expect(await failOpen()).toBe(before + 2);
    expect(await metric(metering, "strata_metering_limits_store_errors_total")).toBeGreaterThan(0);
    // Metering answered in time: the gateway's own fail mode played no part.
    expect(await unreachable()).toBe(unreachableBefore);

    // Usage admitted without limits is still settled and written to the ledger.
    await usageDelivered(gatewayOpen);
    const ids = await eventually(async () => {
      const found = await ledgerRequestIds(tenantId);
      return found.length === 3 ? found : undefined;
    });
    expect(ids).toEqual(expect.arrayContaining([hung.requestId, down.requestId]));

    // A restarted redis is empty; the limit applies again once metering has reconnected.
    redis = await startRedis(redisPort);
    const { apiKey: fresh } = await newKey(limited);
    await eventually(async () => {
      await chat(gatewayOpen, fresh);
      return (await chat(gatewayOpen, fresh)).status === 429 ? true : undefined;
    });
  });

  it("answers 503 with retry-after while redis hangs or is down (STRATA_LIMITS_FAIL_MODE=closed)", async () => {
    const closedMetering = await start("metering", meteringEnv("closed"));
    const gateway = await start("gateway", {
      ...gatewayEnv(`http://127.0.0.1:${closedMetering.ports.grpc}`),
      STRATA_METERING_FAIL_MODE: "open",
    });
    try {
      const { apiKey } = await newKey();
      expect((await chat(gateway, apiKey)).status).toBe(200);
      const refusal = {
        ...outage,
        error: {
          ...outage.error,
          message: "Rate limits cannot be checked right now. Please try again in 1s.",
        },
      };
      if (!redis?.pid) throw new Error("redis is not running");
      process.kill(redis.pid, "SIGSTOP");
      let hung: Seen;
      try {
        hung = await chat(gateway, apiKey);
      } finally {
        process.kill(redis.pid, "SIGCONT");
      }
      expect(hung).toMatchObject(refusal);
      expect(hung.elapsedMs).toBeLessThan(redisTimeoutMs + slackMs);

      await stopRedis(redis);
      const down = await chat(gateway, apiKey);
      expect(down).toMatchObject(refusal);
      expect(down.elapsedMs).toBeLessThan(redisTimeoutMs + slackMs);

      redis = await startRedis(redisPort);
      await eventually(async () =>
        (await chat(gateway, apiKey)).status === 200 ? true : undefined,
      );
    } finally {
      await gateway.stop(2_000);
      await closedMetering.stop(2_000);
      processes.delete(gateway);
      processes.delete(closedMetering);
    }
  });
});

describe("DynamoDB unavailable to metering's ledger", () => {
  /** Three answered requests of a fresh tenant; their request ids. */
  async function traffic() {
    const { tenantId, apiKey } = await newKey();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const seen = await chat(gatewayOpen, apiKey);
      expect(seen.status).toBe(200);
      if (seen.requestId) ids.push(seen.requestId);
    }
    return { tenantId, ids: ids.sort() };
  }
  const failures = () => metric(metering, "strata_metering_ledger_write_failures_total");

  for (const mode of ["down", "stalled"] as const) {
    it(`keeps usage records while DynamoDB is ${mode} and writes every one when it is back`, async () => {
      const failed = await failures();
      meteringToDynamo.set(mode);
      let sent: Awaited<ReturnType<typeof traffic>>;
      try {
        sent = await traffic();
        // Metering took the usage: nothing waits at the gateway.
        await usageDelivered(gatewayOpen);
        // A failed or timed-out write is counted, and the backlog holds every record meanwhile.
        await eventually(async () => ((await failures()) > failed ? true : undefined));
        expect(await metric(metering, "strata_metering_ledger_backlog")).toBeGreaterThanOrEqual(3);
        expect(await ledgerRequestIds(sent.tenantId)).toEqual([]);
      } finally {
        meteringToDynamo.set("open");
      }
      expect(
        await eventually(async () => {
          const found = await ledgerRequestIds(sent.tenantId);
          return found.length === 3 ? found : undefined;
        }),
      ).toEqual(sent.ids);
      await eventually(async () =>
        (await metric(metering, "strata_metering_ledger_backlog")) === 0 ? true : undefined,
      );
      expect(await metric(metering, "strata_metering_ledger_lost_total")).toBe(0);
    });
  }

  it("counts and logs the records it could not write when stopped while DynamoDB hangs", async () => {
    const relay = await startTcpRelay(Number(new URL(dynamo.endpoint).port));
    const log = join(dir, "metering-stopped.log");
    const graceMs = 2_000;
    const logFd = openSync(log, "a");
    const stopping = await start(
      "metering",
      {
        ...meteringEnv("open"),
        ...dynamoEnv(relay),
        STRATA_LIMITS_STORE: "memory",
        STRATA_SHUTDOWN_GRACE_MS: String(graceMs),
      },
      logFd,
    );
    try {
      const client = createRpcClient(
        MeteringService,
        createRpcTransport({ baseUrl: `http://127.0.0.1:${stopping.ports.grpc}` }),
      );
      relay.set("stalled");
      const tenantId = `faults-stop-${Date.now().toString(36)}`;
      await client.settle({
        settlements: ["a", "b", "c"].map((id) => ({
          reservationId: id,
          usage: {
            requestId: `req_${id}`,
            principal: { tenantId, keyId: "k1" },
            model: "m",
            startedAtMs: Date.now(),
            inputTokens: 1,
          },
        })),
      });
      const started = performance.now();
      await stopping.stop(10_000);
      processes.delete(stopping);
      // It stopped on its own within its grace period (exit 0), not killed by its deadline.
      expect(stopping.child.exitCode).toBe(0);
      expect(performance.now() - started).toBeLessThan(graceMs + 1_000);
      const lines = readFileSync(log, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { msg?: string; records?: number });
      expect(lines).toContainEqual(
        expect.objectContaining({
          msg: "shutdown deadline reached: usage records not written",
          records: 3,
        }),
      );
    } finally {
      await stopping.stop(2_000);
      await relay.close();
      closeSync(logFd);
    }
  });
});
