import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { asStrataError } from "@strata/errors";
import { createLogger, createRpcClient, createRpcTransport } from "@strata/platform";
import {
  AdmitRequestSchema,
  BudgetPeriod,
  MeteringService,
  type TokenPriceSchema,
  type UsageRecord,
} from "@strata/proto";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { UsageLedger } from "./ledger.ts";
import { createLimiter } from "./limiter.ts";
import { createMemoryLimitStore } from "./memory-limit-store.ts";
import { createMeteringServer, type MeteringServer } from "./server.ts";

const logger = createLogger({ service: "metering", level: "silent" });
const servers: MeteringServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close(100);
});

async function start() {
  const recorded: Array<UsageRecord & { costMicros: number }> = [];
  const ledger: UsageLedger = {
    record: (r, costMicros) => recorded.push({ ...r, costMicros }) > 0,
    flush: async () => {},
    close: async () => {},
    backlog: 0,
  };
  const registry = new Registry();
  const limiter = createLimiter({ store: createMemoryLimitStore(), registry, logger });
  const server = await createMeteringServer({
    ledger,
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
  return { client, recorded, registry };
}

const principal = { tenantId: "acme", keyId: "k1" };
const admitRequest = (requestId: string) =>
  create(AdmitRequestSchema, {
    principal,
    requestId,
    model: "anthropic.claude-3-haiku",
    estimatedInputTokens: 100,
    maxOutputTokens: 100,
    tenantLimits: { rate: { requestsPerMinute: 2, tokensPerMinute: 1_000 } },
    keyLimits: { rate: { maxConcurrentRequests: 1 } },
  });
const usage = (requestId: string) => ({
  requestId,
  principal,
  model: "anthropic.claude-3-haiku",
  inputTokens: 40,
  outputTokens: 10,
});

describe("metering server", () => {
  it("answers Admit with the reservation and the rate-limit state for x-ratelimit-* headers", async () => {
    const { client } = await start();
    const res = await client.admit(admitRequest("req_1"));
    expect(res.reservationId).toBe("req_1");
    expect(res.rateLimit).toMatchObject({
      limitRequests: 2,
      remainingRequests: 1,
      resetRequestsMs: 30_000,
      limitTokens: 1_000,
      remainingTokens: 800,
      resetTokensMs: 12_000,
    });
  });

  it("sends a refusal as rate_limited with its retry-after across gRPC", async () => {
    const { client } = await start();
    await client.admit(admitRequest("req_1"));
    const refused = await client
      .admit(admitRequest("req_2"))
      .catch((e: unknown) => asStrataError(e));
    expect(refused).toMatchObject({
      reason: "rate_limited",
      retryAfterMs: 1_000,
      message:
        "Too many concurrent requests on API key k1: Limit 1, Used 1, Requested 1. Please try again in 1s.",
    });
  });

  it("settles a batch: records every usage, frees the slots, and counts a repeated settlement once", async () => {
    const { client, recorded, registry } = await start();
    await client.admit(admitRequest("req_1"));
    const settlement = { reservationId: "req_1", usage: usage("req_1") };
    await client.settle({
      settlements: [settlement, { reservationId: "", usage: usage("req_x") }],
    });
    await client.settle({ settlements: [settlement] });
    expect(recorded.map((r) => r.requestId)).toEqual(["req_1", "req_x", "req_1"]);
    const res = await client.admit(admitRequest("req_2"));
    // 200 reserved, 50 used by req_1, 200 reserved by req_2.
    expect(res.rateLimit?.remainingTokens).toBe(750);
    const input = (
      await registry.getSingleMetric("strata_metering_tokens_total")?.get()
    )?.values.find((v) => v.labels.type === "input");
    expect(input?.value).toBe(80);
  });

  it("records each request's cost in the ledger as its budget was charged, and counts it once", async () => {
    const { client, recorded, registry } = await start();
    // $3 / $15 / $0.30 per million tokens: 1,000 in, 100 out, 1,000 cache reads cost 4,800 micros.
    const price = {
      inputPerMillionMicros: 3_000_000,
      outputPerMillionMicros: 15_000_000,
      cacheReadPerMillionMicros: 300_000,
    };
    const budgeted = (
      requestId: string,
      init: { estimatedInputTokens: number; price: MessageInitShape<typeof TokenPriceSchema> },
    ) =>
      create(AdmitRequestSchema, {
        principal,
        requestId,
        model: "anthropic.claude-3-haiku",
        keyLimits: { budget: { period: BudgetPeriod.DAY, costMicros: 1_000_000 } },
        ...init,
      });
    await client.admit(budgeted("req_1", { estimatedInputTokens: 100, price }));
    const used = { ...usage("req_1"), inputTokens: 1_000, outputTokens: 100 };
    const settlement = {
      reservationId: "req_1",
      usage: { ...used, cacheReadInputTokens: 1_000 },
      price,
    };
    await client.settle({ settlements: [settlement] });
    await client.settle({ settlements: [settlement] });
    // Admitted while metering was unreachable: priced at the price the gateway sent with it.
    await client.settle({
      settlements: [{ reservationId: "req_2", usage: { ...used, requestId: "req_2" }, price }],
    });
    expect(recorded.map((r) => [r.requestId, r.costMicros])).toEqual([
      ["req_1", 4_800],
      ["req_1", 4_800],
      ["req_2", 4_500],
    ]);
    const counted = (await registry.getSingleMetric("strata_metering_cost_micros_total")?.get())
      ?.values;
    expect(counted).toEqual([
      expect.objectContaining({ labels: { tenant: "acme", model: used.model }, value: 9_300 }),
    ]);
    // The budget was charged the same 4,800: 995,201 more would overshoot it.
    const refused = await client
      .admit(
        budgeted("req_3", {
          price: { inputPerMillionMicros: 1_000_000 },
          estimatedInputTokens: 995_201,
        }),
      )
      .then(() => undefined)
      .catch((e: unknown) => asStrataError(e));
    expect(refused).toMatchObject({ reason: "quota_exceeded" });
    expect(refused?.message).toContain("Used 4800 micros");
  });

  it("refuses an Admit without a request id as invalid", async () => {
    const { client } = await start();
    const refused = await client
      .admit(create(AdmitRequestSchema, { principal }))
      .catch((e: unknown) => asStrataError(e));
    expect(refused).toMatchObject({ reason: "invalid_request", param: "request_id" });
  });
});
