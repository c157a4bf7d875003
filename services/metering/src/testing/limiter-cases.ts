// The limiter's behaviour, written once and run against every limit store: the in-memory store
// in the unit tier (limiter.test.ts) and the Redis store against a real redis-server in the system
// tier (test/system/redis-limits.test.ts). Time is a fake clock each case moves by hand.
import { randomUUID } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { StrataError } from "@strata/errors";
import { createLogger } from "@strata/platform";
import {
  AdmitRequestSchema,
  BudgetPeriod,
  type LimitsSchema,
  SettlementSchema,
  type TokenPriceSchema,
} from "@strata/proto";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { LimitStore } from "../limit-store.ts";
import {
  type BudgetScope,
  type BudgetUsage,
  createLimiter,
  type LimiterOptions,
  type RateLimitView,
} from "../limiter.ts";

type LimitsInit = MessageInitShape<typeof LimitsSchema>;

/** An admission of the harness's tenant, by key `keyId` (default k1) for claude by default. */
interface AdmitInit {
  keyId?: string;
  requestId?: string;
  model?: string;
  modelAliases?: string[];
  estimatedInputTokens?: number;
  maxOutputTokens?: number;
  tenantLimits?: LimitsInit;
  keyLimits?: LimitsInit;
  price?: MessageInitShape<typeof TokenPriceSchema>;
}

const logger = createLogger({ service: "metering", level: "silent" });
const claude = { model: "anthropic.claude-3-haiku", modelAliases: ["claude-3-haiku"] };
const nova = { model: "amazon.nova-micro", modelAliases: ["nova-micro"] };
const minute = 60_000;

/** A limiter over the store with its own clock and a tenant no other case uses. */
export function limiterHarness(
  store: LimitStore,
  startMs = Date.UTC(2026, 10, 23, 10),
  extra: Pick<LimiterOptions, "budgetHistory"> = {},
) {
  let now = startMs;
  const registry = new Registry();
  const limiter = createLimiter({
    store,
    registry,
    logger,
    clock: () => now,
    leaseMs: 10 * minute,
    reservationTtlMs: 60 * minute,
    ...extra,
  });
  const tenant = `acme-${randomUUID().slice(0, 8)}`;
  let seq = 0;
  const h = {
    tenant,
    registry,
    limiter,
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    /** Admits a request of key k1 (by default) with the given limits; resolves to its view. */
    admit(init: AdmitInit = {}): Promise<RateLimitView> {
      const { keyId = "k1", ...rest } = init;
      return limiter.admit(
        create(AdmitRequestSchema, {
          principal: { tenantId: tenant, keyId },
          requestId: `req_${++seq}`,
          endpoint: "chat.completions",
          ...claude,
          ...rest,
        }),
      );
    },
    /** The refusal of an admission (fails the test when admitted). */
    async refusal(init: AdmitInit = {}): Promise<StrataError> {
      try {
        await h.admit(init);
      } catch (error) {
        if (error instanceof StrataError) return error;
        throw error;
      }
      throw new Error("expected a refusal, but the request was admitted");
    },
    /** Settles a reservation; a store error fails the test (it would hide a broken script). */
    async settle(
      requestId: string,
      usage: { input: number; output: number; cacheRead?: number; model?: string },
    ) {
      return (await h.settleCosting(requestId, usage)).result;
    },
    /** Settles like `settle`, optionally with the settlement's price; resolves to result and cost. */
    async settleCosting(
      requestId: string,
      usage: { input: number; output: number; cacheRead?: number; model?: string },
      price?: MessageInitShape<typeof TokenPriceSchema>,
    ) {
      const settled = await limiter.settle(
        create(SettlementSchema, {
          reservationId: requestId,
          usage: {
            requestId,
            principal: { tenantId: tenant, keyId: "k1" },
            model: usage.model ?? claude.model,
            inputTokens: usage.input,
            outputTokens: usage.output,
            cacheReadInputTokens: usage.cacheRead ?? 0,
          },
          ...(price ? { price } : {}),
        }),
      );
      if (settled.result === "store_error") throw new Error("the limit store failed to settle");
      return settled;
    },
    async metric(name: string, labels: Record<string, string>): Promise<number | undefined> {
      const metric = registry.getSingleMetric(name);
      if (!metric) return undefined;
      const { values } = await metric.get();
      return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
    },
  };
  return h;
}

const tenantLimits = (limits: LimitsInit) => ({ tenantLimits: limits });
const keyLimits = (limits: LimitsInit) => ({ keyLimits: limits });

/** Registers the limiter's behaviour cases for one store (`store()` is read inside each test). */
export function describeLimiterCases(storeName: string, store: () => LimitStore): void {
  const harness = (startMs?: number) => limiterHarness(store(), startMs);

  describe(`limiter on the ${storeName} store: requests per minute`, () => {
    it("admits a burst up to the limit, then refuses with OpenAI's message and retry-after", async () => {
      const h = harness();
      const limits = tenantLimits({ rate: { requestsPerMinute: 60 } });
      expect(await h.admit(limits)).toMatchObject({
        limitRequests: 60,
        remainingRequests: 59,
        resetRequestsMs: 1_000,
        limitTokens: 0,
      });
      for (let i = 1; i < 60; i++) await h.admit(limits);
      const refused = await h.refusal(limits);
      expect(refused.reason).toBe("rate_limited");
      expect(refused.httpStatus).toBe(429);
      expect(refused.openaiCode).toBe("rate_limit_exceeded");
      expect(refused.retryAfterMs).toBe(1_000);
      expect(refused.message).toBe(
        `Rate limit reached for requests per minute (RPM) on tenant ${h.tenant}: ` +
          "Limit 60, Used 60, Requested 1. Please try again in 1s.",
      );
      expect(
        await h.metric("strata_metering_limit_rejections_total", {
          tenant: h.tenant,
          limit: "rpm",
        }),
      ).toBe(1);
    });

    it("refills continuously: one request 999 ms too early is refused, on time it passes", async () => {
      const h = harness();
      const limits = tenantLimits({ rate: { requestsPerMinute: 60 } });
      for (let i = 0; i < 60; i++) await h.admit(limits);
      h.advance(999);
      expect((await h.refusal(limits)).retryAfterMs).toBe(1);
      h.advance(1);
      expect(await h.admit(limits)).toMatchObject({
        remainingRequests: 0,
        resetRequestsMs: 60_000,
      });
    });

    it("is whole again a minute after the burst", async () => {
      const h = harness();
      const limits = tenantLimits({ rate: { requestsPerMinute: 10 } });
      for (let i = 0; i < 10; i++) await h.admit(limits);
      expect((await h.refusal(limits)).message).toContain("Please try again in 6s.");
      h.advance(minute);
      expect(await h.admit(limits)).toMatchObject({ remainingRequests: 9, resetRequestsMs: 6_000 });
    });

    it("counts a request admitted twice under the same request id once", async () => {
      const h = harness();
      const limits = tenantLimits({ rate: { requestsPerMinute: 2 } });
      await h.admit({ ...limits, requestId: "same" });
      await h.admit({ ...limits, requestId: "same" });
      expect(await h.admit(limits)).toMatchObject({ remainingRequests: 0 });
      await h.refusal(limits);
    });
  });

  describe(`limiter on the ${storeName} store: tokens per minute`, () => {
    it("reserves the prompt estimate plus max output tokens at admission", async () => {
      const h = harness();
      const limits = tenantLimits({ rate: { tokensPerMinute: 1_000 } });
      expect(
        await h.admit({ ...limits, estimatedInputTokens: 100, maxOutputTokens: 400 }),
      ).toMatchObject({
        limitTokens: 1_000,
        remainingTokens: 500,
        resetTokensMs: 30_000,
        limitRequests: 0,
      });
      const refused = await h.refusal({
        ...limits,
        estimatedInputTokens: 100,
        maxOutputTokens: 500,
      });
      expect(refused.message).toBe(
        `Rate limit reached for tokens per minute (TPM) on tenant ${h.tenant}: ` +
          "Limit 1000, Used 500, Requested 600. Please try again in 6s.",
      );
      expect(refused.retryAfterMs).toBe(6_000);
    });

    it("refunds the unused part of a reservation when the request settles below it", async () => {
      const h = harness();
      const limits = tenantLimits({ rate: { tokensPerMinute: 1_000 } });
      await h.admit({
        ...limits,
        requestId: "r1",
        estimatedInputTokens: 100,
        maxOutputTokens: 400,
      });
      expect(await h.settle("r1", { input: 120, output: 30 })).toBe("settled");
      expect(await h.admit(limits)).toMatchObject({ remainingTokens: 850 });
    });

    it("charges a stream that ran past its reservation at its real usage", async () => {
      const h = harness();
      const limits = tenantLimits({ rate: { tokensPerMinute: 1_000 } });
      await h.admit({ ...limits, requestId: "r1", estimatedInputTokens: 50, maxOutputTokens: 50 });
      await h.settle("r1", { input: 600, output: 700 });
      const refused = await h.refusal({ ...limits, estimatedInputTokens: 1 });
      expect(refused.message).toContain("Limit 1000, Used 1300, Requested 1.");
      // 301 tokens short at 1,000 a minute.
      expect(refused.retryAfterMs).toBe(18_060);
    });

    it("settling the same reservation twice changes nothing", async () => {
      const h = harness();
      const limits = tenantLimits({ rate: { tokensPerMinute: 1_000 } });
      await h.admit({ ...limits, requestId: "r1", estimatedInputTokens: 500 });
      expect(await h.settle("r1", { input: 100, output: 0 })).toBe("settled");
      expect(await h.settle("r1", { input: 900, output: 0 })).toBe("already_settled");
      expect(await h.admit(limits)).toMatchObject({ remainingTokens: 900 });
      expect(await h.settle("never-admitted", { input: 1, output: 1 })).toBe("unknown");
    });

    it("refuses a request larger than the whole limit without a retry hint", async () => {
      const h = harness();
      const refused = await h.refusal({
        ...tenantLimits({ rate: { tokensPerMinute: 1_000 } }),
        estimatedInputTokens: 200,
        maxOutputTokens: 1_000,
      });
      expect(refused.reason).toBe("rate_limited");
      expect(refused.retryAfterMs).toBeUndefined();
      expect(refused.message).toBe(
        `Request too large for tokens per minute (TPM) on tenant ${h.tenant}: Limit 1000, ` +
          "Requested 1200. The input or output tokens must be reduced in order to run successfully.",
      );
    });
  });

  describe(`limiter on the ${storeName} store: concurrency`, () => {
    it("holds a slot from admission to settlement", async () => {
      const h = harness();
      const limits = keyLimits({ rate: { maxConcurrentRequests: 2 } });
      await h.admit({ ...limits, requestId: "a" });
      await h.admit({ ...limits, requestId: "b" });
      expect(await h.metric("strata_metering_concurrent_requests", { tenant: h.tenant })).toBe(2);
      const refused = await h.refusal(limits);
      expect(refused.message).toBe(
        "Too many concurrent requests on API key k1: Limit 2, Used 2, Requested 1. " +
          "Please try again in 1s.",
      );
      expect(refused.retryAfterMs).toBe(1_000);
      await h.settle("a", { input: 1, output: 1 });
      expect(await h.metric("strata_metering_concurrent_requests", { tenant: h.tenant })).toBe(1);
      await h.admit(limits);
      expect(
        await h.metric("strata_metering_limit_rejections_total", {
          tenant: h.tenant,
          limit: "concurrency",
        }),
      ).toBe(1);
    });

    it("frees the slot of a request that never settles when its lease ends", async () => {
      const h = harness();
      const limits = tenantLimits({ rate: { maxConcurrentRequests: 1 } });
      await h.admit(limits);
      h.advance(10 * minute - 300);
      expect((await h.refusal(limits)).retryAfterMs).toBe(300);
      h.advance(300);
      await h.admit(limits);
    });
  });

  describe(`limiter on the ${storeName} store: scopes and model rules`, () => {
    it("is all-or-nothing: a refusal by one scope consumes nothing in another", async () => {
      const h = harness();
      const both = {
        ...tenantLimits({ rate: { requestsPerMinute: 3 } }),
        ...keyLimits({ rate: { requestsPerMinute: 1 } }),
      };
      // The tightest limit is shown: the key's.
      expect(await h.admit(both)).toMatchObject({ limitRequests: 1, remainingRequests: 0 });
      expect((await h.refusal(both)).message).toContain("on API key k1:");
      const tenantOnly = { ...both, keyId: "k2", keyLimits: {} };
      expect(await h.admit(tenantOnly)).toMatchObject({ limitRequests: 3, remainingRequests: 1 });
      expect(await h.admit(tenantOnly)).toMatchObject({ remainingRequests: 0 });
      expect((await h.refusal(tenantOnly)).message).toContain(`on tenant ${h.tenant}:`);
    });

    it("does not count a request against its rate limits when its budget refuses it", async () => {
      const h = harness();
      const limits = {
        ...tenantLimits({ rate: { requestsPerMinute: 2 } }),
        ...keyLimits({ budget: { period: BudgetPeriod.MONTH, tokens: 100 } }),
      };
      await h.admit({ ...limits, estimatedInputTokens: 60 });
      expect((await h.refusal({ ...limits, estimatedInputTokens: 60 })).reason).toBe(
        "quota_exceeded",
      );
      expect(await h.admit({ ...limits, estimatedInputTokens: 10 })).toMatchObject({
        remainingRequests: 0,
      });
    });

    it("applies a model rule written against an alias, with its own counter per model", async () => {
      const h = harness();
      const limits = tenantLimits({
        models: [{ model: "claude-*", limits: { requestsPerMinute: 1 } }],
      });
      expect(await h.admit({ ...limits, ...claude })).toMatchObject({ limitRequests: 1 });
      const refused = await h.refusal({ ...limits, ...claude });
      expect(refused.message).toContain(
        `requests per minute (RPM) on model ${claude.model} for tenant ${h.tenant}:`,
      );
      expect(await h.admit({ ...limits, ...nova })).toMatchObject({ limitRequests: 0 });
    });

    it("gives each model matching a wildcard rule its own limit", async () => {
      const h = harness();
      const limits = keyLimits({ models: [{ model: "*", limits: { requestsPerMinute: 1 } }] });
      await h.admit({ ...limits, ...claude });
      await h.admit({ ...limits, ...nova });
      expect((await h.refusal({ ...limits, ...nova })).message).toContain(
        `on model ${nova.model} for API key k1:`,
      );
    });

    it("applies the tightest value when several rules match the same model", async () => {
      const h = harness();
      const limits = tenantLimits({
        rate: { requestsPerMinute: 100, tokensPerMinute: 10_000 },
        models: [
          { model: "*", limits: { requestsPerMinute: 5, tokensPerMinute: 2_000 } },
          { model: "anthropic.claude-3-haiku", limits: { requestsPerMinute: 2 } },
          { model: "nova-*", limits: { requestsPerMinute: 1 } },
        ],
      });
      expect(await h.admit({ ...limits, estimatedInputTokens: 10 })).toMatchObject({
        limitRequests: 2,
        remainingRequests: 1,
        limitTokens: 2_000,
        remainingTokens: 1_990,
      });
    });

    it("reports zero limits when none applies", async () => {
      const h = harness();
      expect(await h.admit({ estimatedInputTokens: 10, maxOutputTokens: 10 })).toEqual({
        limitRequests: 0,
        remainingRequests: 0,
        resetRequestsMs: 0,
        limitTokens: 0,
        remainingTokens: 0,
        resetTokensMs: 0,
      });
    });
  });

  describe(`limiter on the ${storeName} store: budgets`, () => {
    it("refuses when used + reserved + requested exceeds the token budget, until settled lower", async () => {
      const h = harness();
      const limits = tenantLimits({ budget: { period: BudgetPeriod.MONTH, tokens: 1_000 } });
      await h.admit({
        ...limits,
        requestId: "r1",
        estimatedInputTokens: 100,
        maxOutputTokens: 500,
      });
      expect(
        await h.metric("strata_metering_budget_remaining", { tenant: h.tenant, kind: "tokens" }),
      ).toBe(400);
      const refused = await h.refusal({ ...limits, estimatedInputTokens: 500 });
      expect(refused.reason).toBe("quota_exceeded");
      expect(refused.openaiCode).toBe("insufficient_quota");
      expect(refused.message).toBe(
        "You exceeded your tenant's monthly token budget: Budget 1000, Used 0, Reserved 600, " +
          "Requested 500. The budget renews at 2026-12-01T00:00:00Z.",
      );
      expect(refused.retryAfterMs).toBe(Date.UTC(2026, 11, 1) - h.now());
      await h.settle("r1", { input: 150, output: 50 });
      expect(
        await h.metric("strata_metering_budget_remaining", { tenant: h.tenant, kind: "tokens" }),
      ).toBe(800);
      await h.admit({ ...limits, estimatedInputTokens: 500 });
      expect(
        await h.metric("strata_metering_limit_rejections_total", {
          tenant: h.tenant,
          limit: "budget_tokens",
        }),
      ).toBe(1);
    });

    it("gives back what a request that never settles held, when its reservation expires", async () => {
      const h = harness();
      const limits = tenantLimits({ budget: { period: BudgetPeriod.MONTH, tokens: 1_000 } });
      const remaining = () =>
        h.metric("strata_metering_budget_remaining", { tenant: h.tenant, kind: "tokens" });
      await h.admit({ ...limits, estimatedInputTokens: 300, maxOutputTokens: 100 });
      h.advance(30 * minute);
      await h.admit({ ...limits, estimatedInputTokens: 200, maxOutputTokens: 100 });
      expect(await remaining()).toBe(300);
      expect((await h.refusal({ ...limits, estimatedInputTokens: 400 })).reason).toBe(
        "quota_exceeded",
      );
      // The first reservation (an hour old) is released, the second (30 minutes) still holds.
      h.advance(30 * minute + 1);
      await h.admit({ ...limits, estimatedInputTokens: 390, maxOutputTokens: 10 });
      expect(await remaining()).toBe(300);
      h.advance(30 * minute);
      await h.admit({ ...limits, estimatedInputTokens: 1, maxOutputTokens: 1 });
      expect(await remaining()).toBe(598);
    });

    it("reserves cost at the model's price and settles it to the real cost", async () => {
      const h = harness();
      const price = {
        inputPerMillionMicros: 3_000_000,
        outputPerMillionMicros: 15_000_000,
        cacheReadPerMillionMicros: 300_000,
      };
      const limits = {
        ...keyLimits({ budget: { period: BudgetPeriod.DAY, costMicros: 10_000 } }),
        price,
      };
      const refused = await h.refusal({
        ...limits,
        estimatedInputTokens: 1_000,
        maxOutputTokens: 500,
      });
      expect(refused.message).toBe(
        "You exceeded your API key's daily cost budget: Budget 10000 micros, Used 0 micros, " +
          "Reserved 0 micros, Requested 10500 micros. The budget renews at 2026-11-24T00:00:00Z.",
      );
      expect(
        await h.metric("strata_metering_limit_rejections_total", {
          tenant: h.tenant,
          limit: "budget_cost",
        }),
      ).toBe(1);
      await h.admit({
        ...limits,
        requestId: "r1",
        estimatedInputTokens: 1_000,
        maxOutputTokens: 400,
      });
      // 9,000 held: a second request costing 1,002 would overshoot.
      await h.refusal({ ...limits, estimatedInputTokens: 334 });
      // 3,000 + 1,500 + 300 = 4,800 spent: the cost the ledger records, and the counter counts.
      expect(await h.settleCosting("r1", { input: 1_000, output: 100, cacheRead: 1_000 })).toEqual({
        result: "settled",
        costMicros: 4_800,
      });
      expect(
        await h.metric("strata_metering_cost_micros_total", {
          tenant: h.tenant,
          model: claude.model,
        }),
      ).toBe(4_800);
      // 4,800 + 3,000 + 2,190 = 9,990 fits; then 12 more would not.
      await h.admit({ ...limits, estimatedInputTokens: 1_000, maxOutputTokens: 146 });
      await h.refusal({ ...limits, estimatedInputTokens: 4 });
    });

    it("prices a repeated settlement as the first and counts its cost once", async () => {
      const h = harness();
      const price = {
        inputPerMillionMicros: 3_000_000,
        outputPerMillionMicros: 15_000_000,
        cacheReadPerMillionMicros: 300_000,
      };
      await h.admit({ requestId: "r1", estimatedInputTokens: 10, price });
      const used = { input: 1_000, output: 100, cacheRead: 1_000 };
      expect(await h.settleCosting("r1", used, price)).toEqual({
        result: "settled",
        costMicros: 4_800,
      });
      // The reservation is settled (its price forgotten): the settlement's own price prices it.
      expect(await h.settleCosting("r1", used, price)).toEqual({
        result: "already_settled",
        costMicros: 4_800,
      });
      // Without a reservation (expired, or admitted fail-open) the settlement's price is used,
      // and the cost counted; without a price either, the usage costs nothing.
      expect(await h.settleCosting("fail-open", { input: 1, output: 1 }, price)).toEqual({
        result: "unknown",
        costMicros: 18,
      });
      expect(await h.settleCosting("no-price", { input: 1, output: 1 })).toEqual({
        result: "unknown",
        costMicros: 0,
      });
      expect(
        await h.metric("strata_metering_cost_micros_total", {
          tenant: h.tenant,
          model: claude.model,
        }),
      ).toBe(4_818);
    });

    it("starts a new daily budget at UTC midnight; a late settlement lands in its own day", async () => {
      const h = harness(Date.UTC(2026, 10, 23, 23, 59, 59, 999));
      const limits = keyLimits({ budget: { period: BudgetPeriod.DAY, tokens: 100 } });
      await h.admit({ ...limits, requestId: "yesterday", estimatedInputTokens: 100 });
      expect((await h.refusal({ ...limits, estimatedInputTokens: 1 })).retryAfterMs).toBe(1);
      h.advance(1);
      await h.admit({ ...limits, estimatedInputTokens: 1 });
      await h.settle("yesterday", { input: 100, output: 0 });
      await h.admit({ ...limits, estimatedInputTokens: 99 });
      await h.refusal({ ...limits, estimatedInputTokens: 1 });
    });

    it("starts a new monthly budget on the first of the month (UTC)", async () => {
      const h = harness(Date.UTC(2027, 0, 31, 23, 0));
      const limits = tenantLimits({ budget: { period: BudgetPeriod.MONTH, tokens: 50 } });
      await h.admit({ ...limits, estimatedInputTokens: 50 });
      const refused = await h.refusal({ ...limits, estimatedInputTokens: 1 });
      expect(refused.retryAfterMs).toBe(60 * minute);
      expect(refused.message).toContain("renews at 2027-02-01T00:00:00Z");
      h.advance(60 * minute);
      await h.admit({ ...limits, estimatedInputTokens: 50 });
    });

    it("never lets 50 concurrent admissions overshoot a budget", async () => {
      const h = harness();
      const limits = tenantLimits({ budget: { period: BudgetPeriod.MONTH, tokens: 1_000 } });
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          h.admit({ ...limits, requestId: `c${i}`, estimatedInputTokens: 10, maxOutputTokens: 20 }),
        ),
      );
      const admitted = results.flatMap((r, i) => (r.status === "fulfilled" ? [`c${i}`] : []));
      expect(admitted).toHaveLength(33);
      for (const r of results) {
        if (r.status === "rejected")
          expect((r.reason as StrataError).reason).toBe("quota_exceeded");
      }
      await Promise.all(admitted.map((id) => h.settle(id, { input: 10, output: 20 })));
      expect(
        await h.metric("strata_metering_budget_remaining", { tenant: h.tenant, kind: "tokens" }),
      ).toBe(10);
      await h.refusal({ ...limits, estimatedInputTokens: 11 });
      await h.admit({ ...limits, estimatedInputTokens: 10 });
    });

    it("starts a budget period it does not know from the ledger's usage, asking once", async () => {
      const asked: BudgetScope[] = [];
      const history = async (scope: BudgetScope): Promise<BudgetUsage> => {
        asked.push(scope);
        await new Promise((r) => setTimeout(r, 20)); // a Query takes a while: admissions race it
        return { tokens: 900, costMicros: 0 };
      };
      const h = limiterHarness(store(), undefined, { budgetHistory: history });
      const limits = tenantLimits({ budget: { period: BudgetPeriod.MONTH, tokens: 1_000 } });
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          h.admit({ ...limits, requestId: `s${i}`, estimatedInputTokens: 20, maxOutputTokens: 30 }),
        ),
      );
      // 900 used before: two requests of 50 fit in 1,000, the other eight are refused.
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(2);
      expect(asked).toEqual([
        { tenantId: h.tenant, fromMs: Date.UTC(2026, 10, 1), toMs: Date.UTC(2026, 11, 1) },
      ]);
      const refused = await h.refusal({ ...limits, estimatedInputTokens: 1 });
      expect(refused.message).toContain("Budget 1000, Used 900, Reserved 100, Requested 1.");
      expect(await h.metric("strata_metering_budget_seeds_total", {})).toBe(1);
      expect(asked).toHaveLength(1);
    });

    it("starts a key's budget from that key's usage, and a new period from the ledger again", async () => {
      const asked: BudgetScope[] = [];
      const h = limiterHarness(store(), Date.UTC(2026, 10, 30, 23, 59), {
        budgetHistory: async (scope) => {
          asked.push(scope);
          return { tokens: 0, costMicros: 9_000 };
        },
      });
      const limits = keyLimits({ budget: { period: BudgetPeriod.DAY, costMicros: 10_000 } });
      const price = { inputPerMillionMicros: 1_000_000, outputPerMillionMicros: 1_000_000 };
      await h.admit({ ...limits, estimatedInputTokens: 500, maxOutputTokens: 500, price });
      expect(
        (await h.refusal({ ...limits, estimatedInputTokens: 1, maxOutputTokens: 0, price }))
          .message,
      ).toContain("Used 9000 micros, Reserved 1000 micros");
      h.advance(minute);
      await h.admit({ ...limits, estimatedInputTokens: 500, maxOutputTokens: 500, price });
      expect(asked).toEqual([
        {
          tenantId: h.tenant,
          keyId: "k1",
          fromMs: Date.UTC(2026, 10, 30),
          toMs: Date.UTC(2026, 11, 1),
        },
        {
          tenantId: h.tenant,
          keyId: "k1",
          fromMs: Date.UTC(2026, 11, 1),
          toMs: Date.UTC(2026, 11, 2),
        },
      ]);
    });

    it("treats a ledger that cannot be read like a failed store, and asks it again next time", async () => {
      let calls = 0;
      const h = limiterHarness(store(), undefined, {
        budgetHistory: async () => {
          calls++;
          if (calls === 1) throw new Error("DynamoDB is unreachable");
          return { tokens: 990, costMicros: 0 };
        },
      });
      const limits = tenantLimits({ budget: { period: BudgetPeriod.MONTH, tokens: 1_000 } });
      // Fail-open (the harness's mode): admitted unchecked, and counted.
      expect(await h.admit({ ...limits, estimatedInputTokens: 50 })).toMatchObject({
        limitTokens: 0,
      });
      expect(await h.metric("strata_metering_fail_open_admissions_total", {})).toBe(1);
      expect((await h.refusal({ ...limits, estimatedInputTokens: 50 })).reason).toBe(
        "quota_exceeded",
      );
      expect(calls).toBe(2);
    });

    it("never lets 50 concurrent admissions take more slots than the limit", async () => {
      const h = harness();
      const limits = tenantLimits({ rate: { maxConcurrentRequests: 5, requestsPerMinute: 1_000 } });
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => h.admit(limits)));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(5);
      // Refused admissions consumed no requests: 5 of 1,000 are gone.
      expect(
        await h.admit({ ...limits, tenantLimits: { rate: { requestsPerMinute: 1_000 } } }),
      ).toMatchObject({
        remainingRequests: 994,
      });
    });
  });
}
