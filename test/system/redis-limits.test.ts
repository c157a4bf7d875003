// The Redis limit store against a real redis-server: the limiter's behaviour cases (the same the
// in-memory store passes in the unit tier), two metering servers sharing one Redis over real gRPC,
// and what admissions do when Redis hangs or dies. Needs `redis-server` on PATH:
// scripts/ensure-system-tools.sh installs it.
import { type ChildProcess, execFileSync } from "node:child_process";
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { asStrataError, type StrataError } from "@strata/errors";
import {
  createLimiter,
  createMeteringServer,
  createRedisLimitStore,
  type FailMode,
  type MeteringServer,
  type RedisLimitStore,
  settledMarkTtlMs,
  type UsageLedger,
} from "@strata/metering/limits";
import { describeLimiterCases, limiterHarness } from "@strata/metering/testing";
import { createLogger, createRpcClient, createRpcTransport } from "@strata/platform";
import { AdmitRequestSchema, MeteringService } from "@strata/proto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startRedis, stopRedis } from "./support/redis.ts";

const logger = createLogger({ service: "metering", level: "silent" });

/** A ledger that only counts: these tests are about limits. */
const nullLedger: UsageLedger = {
  record: () => true,
  flush: async () => {},
  close: async () => {},
  backlog: 0,
};

let port = 0;
let redis: ChildProcess | undefined;
const stores: RedisLimitStore[] = [];
const servers: MeteringServer[] = [];

async function newStore(): Promise<RedisLimitStore> {
  const store = createRedisLimitStore({
    url: `redis://127.0.0.1:${port}`,
    logger,
    commandTimeoutMs: 200,
  });
  stores.push(store);
  expect(await store.ready(5_000)).toBe(true);
  return store;
}

/** A metering server of its own (own store, limiter and registry), like one more replica. */
async function newReplica(failMode: FailMode = "open") {
  const store = await newStore();
  const registry = new Registry();
  const limiter = createLimiter({ store, registry, logger, failMode });
  const server = await createMeteringServer({
    ledger: nullLedger,
    limiter,
    queryUsage: async () => [],
    logger,
    registry,
    host: "127.0.0.1",
    port: 0,
  });
  servers.push(server);
  const client = createRpcClient(
    MeteringService,
    createRpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }),
  );
  return { client, registry, limiter };
}

beforeAll(async () => {
  port = await freePort();
  redis = await startRedis(port);
});

afterAll(async () => {
  for (const server of servers) await server.close(100);
  for (const store of stores) await store.close();
  await stopRedis(redis);
});

let shared: RedisLimitStore | undefined;
describe("redis limit store", () => {
  beforeAll(async () => {
    shared = await newStore();
  });
  describeLimiterCases("redis", () => {
    if (!shared) throw new Error("redis store not started");
    return shared;
  });

  it("keeps a settled reservation's mark for at most settledMarkTtlMs, not the reservation's hour", async () => {
    if (!shared) throw new Error("redis store not started");
    const h = limiterHarness(shared, Date.now());
    await h.admit({ requestId: "r-ttl", tenantLimits: { rate: { tokensPerMinute: 100_000 } } });
    const key = `strata:{${encodeURIComponent(h.tenant)}}:res:r-ttl`;
    const ttl = () =>
      Number(execFileSync("redis-cli", ["-p", String(port), "PTTL", key], { encoding: "utf8" }));
    expect(ttl()).toBeGreaterThan(settledMarkTtlMs);
    expect(await h.settle("r-ttl", { input: 10, output: 10 })).toBe("settled");
    expect(ttl()).toBeGreaterThan(0);
    expect(ttl()).toBeLessThanOrEqual(settledMarkTtlMs);
  });
});

type MeteringClient = Client<typeof MeteringService>;

async function outcome(
  client: MeteringClient,
  init: Parameters<typeof create<typeof AdmitRequestSchema>>[1],
) {
  try {
    return await client.admit(create(AdmitRequestSchema, init));
  } catch (error) {
    return asStrataError(error);
  }
}

const isRefusal = (x: unknown): x is StrataError => x instanceof Error;

describe("two metering replicas sharing one redis", () => {
  it("enforce one tenant limit together: RPM 10 admits exactly 10 of 20 alternating calls", async () => {
    const a = await newReplica();
    const b = await newReplica();
    const tenantId = `shared-${Date.now()}`;
    const results = [];
    for (let i = 0; i < 20; i++) {
      const replica = i % 2 === 0 ? a : b;
      results.push(
        await outcome(replica.client, {
          principal: { tenantId, keyId: "k1" },
          requestId: `req_${tenantId}_${i}`,
          model: "m",
          tenantLimits: { rate: { requestsPerMinute: 10 } },
        }),
      );
    }
    const refusals = results.filter(isRefusal);
    expect(results.length - refusals.length).toBe(10);
    for (const refusal of refusals) {
      expect(refusal.reason).toBe("rate_limited");
      expect(refusal.retryAfterMs).toBeGreaterThan(0);
      expect(refusal.message).toMatch(
        /^Rate limit reached for requests per minute \(RPM\) on tenant /,
      );
    }
    // The first ten were admitted, five by each replica; the last shows the shared bucket.
    expect(results.slice(0, 10).some(isRefusal)).toBe(false);
    const ninth = results[9];
    expect(isRefusal(ninth) ? undefined : ninth?.rateLimit).toMatchObject({
      limitRequests: 10,
      remainingRequests: 0,
    });
  });

  it("free a concurrency slot on one replica that was taken on the other", async () => {
    const a = await newReplica();
    const b = await newReplica();
    const tenantId = `slots-${Date.now()}`;
    const admit = (replica: typeof a, requestId: string) =>
      outcome(replica.client, {
        principal: { tenantId, keyId: "k1" },
        requestId,
        model: "m",
        keyLimits: { rate: { maxConcurrentRequests: 1 } },
      });
    expect(isRefusal(await admit(a, "first"))).toBe(false);
    expect(await admit(b, "second")).toMatchObject({ reason: "rate_limited" });
    await b.client.settle({
      settlements: [
        {
          reservationId: "first",
          usage: { requestId: "first", principal: { tenantId, keyId: "k1" }, model: "m" },
        },
      ],
    });
    expect(isRefusal(await admit(b, "third"))).toBe(false);
  });
});

describe("when redis stops answering", () => {
  const request = (tenantId: string, requestId: string) =>
    create(AdmitRequestSchema, {
      principal: { tenantId, keyId: "k1" },
      requestId,
      model: "m",
      tenantLimits: { rate: { requestsPerMinute: 1 } },
    });

  it("admits within the command timeout in fail-open mode, and refuses in fail-closed mode", async () => {
    const open = await newReplica("open");
    const closed = await newReplica("closed");
    if (!redis?.pid) throw new Error("redis not running");
    process.kill(redis.pid, "SIGSTOP");
    try {
      let started = performance.now();
      const admitted = await open.client.admit(request("hung", "req_hung_1"));
      expect(performance.now() - started).toBeLessThan(1_500);
      expect(admitted.reservationId).toBe("req_hung_1");
      expect(
        (await open.registry.getSingleMetric("strata_metering_fail_open_admissions_total")?.get())
          ?.values[0]?.value,
      ).toBe(1);

      started = performance.now();
      const refused = await outcome(closed.client, request("hung", "req_hung_2"));
      expect(performance.now() - started).toBeLessThan(1_500);
      expect(refused).toMatchObject({ reason: "upstream_unavailable", retryAfterMs: 1_000 });
    } finally {
      process.kill(redis.pid, "SIGCONT");
    }
  });

  it("admits at once when redis is gone (fail-open), and enforces again when it is back", async () => {
    const open = await newReplica("open");
    await stopRedis(redis);
    const started = performance.now();
    const first = await open.client.admit(request("gone", "req_gone_1"));
    const second = await open.client.admit(request("gone", "req_gone_2"));
    expect(performance.now() - started).toBeLessThan(1_500);
    expect([first.reservationId, second.reservationId]).toEqual(["req_gone_1", "req_gone_2"]);

    // Redis returns empty (scripts included): the client reconnects and reloads its scripts.
    redis = await startRedis(port);
    expect(await stores.at(-1)?.ready(10_000)).toBe(true);
    expect(isRefusal(await outcome(open.client, request("back", "req_back_1")))).toBe(false);
    expect(await outcome(open.client, request("back", "req_back_2"))).toMatchObject({
      reason: "rate_limited",
    });
  });
});
