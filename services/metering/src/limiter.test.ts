import { create } from "@bufbuild/protobuf";
import { StrataError } from "@strata/errors";
import { createLogger } from "@strata/platform";
import { AdmitRequestSchema, BudgetPeriod, SettlementSchema } from "@strata/proto";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { type LimitStore, settledMarkTtlMs } from "./limit-store.ts";
import { createLimiter, formatWait, mergeModelRules } from "./limiter.ts";
import { createMemoryLimitStore } from "./memory-limit-store.ts";
import { describeLimiterCases, limiterHarness } from "./testing/limiter-cases.ts";

const memory = createMemoryLimitStore();
describeLimiterCases("memory", () => memory);

const logger = createLogger({ service: "metering", level: "silent" });

/** A store whose backend is gone: every call fails like a Redis timeout. */
const brokenStore: LimitStore = {
  admit: () => Promise.reject(new Error("Command timed out")),
  reservation: () => Promise.reject(new Error("Command timed out")),
  settle: () => Promise.reject(new Error("Command timed out")),
  seedBudgets: () => Promise.reject(new Error("Command timed out")),
  close: async () => {},
};

const request = create(AdmitRequestSchema, {
  principal: { tenantId: "acme", keyId: "k1" },
  requestId: "req_1",
  model: "m",
  tenantLimits: { rate: { requestsPerMinute: 1 } },
});

async function metric(registry: Registry, name: string) {
  return (await registry.getSingleMetric(name)?.get())?.values[0]?.value;
}

describe("limiter when its store fails", () => {
  it("admits without limits in fail-open mode, and counts it", async () => {
    const registry = new Registry();
    const limiter = createLimiter({ store: brokenStore, registry, logger });
    expect(await limiter.admit(request)).toMatchObject({ limitRequests: 0 });
    expect(await metric(registry, "strata_metering_fail_open_admissions_total")).toBe(1);
    expect(await metric(registry, "strata_metering_limits_store_errors_total")).toBe(1);
  });

  it("refuses with upstream_unavailable and a retry hint in fail-closed mode", async () => {
    const registry = new Registry();
    const limiter = createLimiter({ store: brokenStore, registry, logger, failMode: "closed" });
    const refused = await limiter.admit(request).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StrataError);
    expect(refused).toMatchObject({ reason: "upstream_unavailable", retryAfterMs: 1_000 });
    expect(await metric(registry, "strata_metering_fail_open_admissions_total")).toBe(0);
  });

  it("still answers Settle, leaving the limits uncorrected", async () => {
    const registry = new Registry();
    const limiter = createLimiter({ store: brokenStore, registry, logger });
    const settlement = create(SettlementSchema, {
      reservationId: "req_1",
      usage: { requestId: "req_1", principal: { tenantId: "acme" }, inputTokens: 1_000 },
      price: { inputPerMillionMicros: 3_000_000 },
    });
    // The ledger still gets the request's cost, at the price the gateway sent with it.
    expect(await limiter.settle(settlement)).toEqual({ result: "store_error", costMicros: 3_000 });
  });

  it("refuses an admission without a tenant as invalid", async () => {
    const limiter = createLimiter({ store: memory, registry: new Registry(), logger });
    await expect(
      limiter.admit(create(AdmitRequestSchema, { requestId: "r" })),
    ).rejects.toMatchObject({ reason: "invalid_request" });
  });
});

describe("limiter on the memory store: reservations", () => {
  it("releases the budget hold of a reservation never settled once its TTL ends", async () => {
    let now = Date.UTC(2026, 10, 23, 10);
    const limiter = createLimiter({
      store: createMemoryLimitStore(),
      registry: new Registry(),
      logger,
      clock: () => now,
      reservationTtlMs: 60 * 60_000,
    });
    const admit = (requestId: string) =>
      limiter.admit(
        create(AdmitRequestSchema, {
          principal: { tenantId: "acme", keyId: "k1" },
          requestId,
          estimatedInputTokens: 600,
          keyLimits: { budget: { period: BudgetPeriod.MONTH, tokens: 1_000 } },
        }),
      );
    await admit("crashed");
    await expect(admit("r2")).rejects.toMatchObject({ reason: "quota_exceeded" });
    now += 60 * 60_000;
    await admit("r3");
    const late = create(SettlementSchema, {
      reservationId: "crashed",
      usage: { requestId: "crashed", principal: { tenantId: "acme" }, inputTokens: 600 },
    });
    expect(await limiter.settle(late)).toMatchObject({ result: "unknown" });
  });
});

describe("formatWait", () => {
  it.each([
    [1, "1ms"],
    [999, "999ms"],
    [1_000, "1s"],
    [1_200, "1.2s"],
    [6_060, "6.06s"],
    [60_000, "1m"],
    [90_500, "1m30.5s"],
  ])("says %i ms as %s", (ms, text) => {
    expect(formatWait(ms)).toBe(text);
  });
});

describe("mergeModelRules", () => {
  const rule = (model: string, rpm: number, tpm = 0) => ({
    model,
    limits: { requestsPerMinute: rpm, tokensPerMinute: tpm, maxConcurrentRequests: 0 },
  });
  it("ignores rules that match neither the id nor an alias", () => {
    expect(mergeModelRules([rule("gpt-*", 1) as never], ["claude-3", "c3"])).toBeUndefined();
  });
  it("takes the tightest non-zero value of each dimension", () => {
    expect(
      mergeModelRules([rule("*", 10, 500), rule("c3", 3)] as never, ["claude-3", "c3"]),
    ).toEqual({ requestsPerMinute: 3, tokensPerMinute: 500, maxConcurrentRequests: 0 });
  });
});

describe("settled marks", () => {
  it("keeps a settled reservation's mark for settledMarkTtlMs, not its whole TTL", async () => {
    const h = limiterHarness(createMemoryLimitStore());
    const limits = { tenantLimits: { rate: { tokensPerMinute: 100_000 } } };
    await h.admit({ ...limits, requestId: "r1" });
    expect(await h.settle("r1", { input: 10, output: 10 })).toBe("settled");
    h.advance(settledMarkTtlMs - 1);
    expect(await h.settle("r1", { input: 10, output: 10 })).toBe("already_settled");
    h.advance(2);
    // Forgotten: a very late repeat is "unknown" (ledger still written, limits not touched).
    expect(await h.settle("r1", { input: 10, output: 10 })).toBe("unknown");
  });
});
