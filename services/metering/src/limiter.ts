import { StrataError } from "@strata/errors";
import type { Logger } from "@strata/platform";
import type {
  AdmitRequest,
  Budget,
  Limits,
  ModelRateLimits,
  RateLimits,
  Settlement,
} from "@strata/proto";
import { Counter, Gauge, type Registry } from "prom-client";
import { type PeriodWindow, periodWindow } from "./budget-period.ts";
import { costMicros, type PriceMicros } from "./cost.ts";
import type {
  AdmitOutcome,
  AdmitPlan,
  BudgetLevel,
  BudgetSeed,
  LimitStore,
} from "./limit-store.ts";
import { modelMatches } from "./model-match.ts";
import { bucketUsed, bucketView, bucketWaitMs } from "./token-bucket.ts";

/** What happens to an admission when the limit store cannot be reached. */
export type FailMode = "open" | "closed";

/** Options of createLimiter. */
export interface LimiterOptions {
  store: LimitStore;
  registry: Registry;
  logger: Logger;
  /** `open` (default): admit unchecked and count it; `closed`: refuse with upstream_unavailable. */
  failMode?: FailMode;
  /** How long a concurrency slot is held when a request is never settled. Default 10 minutes. */
  leaseMs?: number;
  /**
   * How long a reservation is remembered for Settle (and its budget hold kept). Longer than the
   * longest request; a settlement that comes later is still written to the ledger but no longer
   * corrects limits. Default 1 hour.
   */
  reservationTtlMs?: number;
  /** The clock, in Unix milliseconds (tests control it). Default Date.now. */
  clock?: () => number;
  /**
   * What a budget's scope used in a period before the store knew the period, from the usage
   * ledger: asked once for each budget period the store holds no counters for, so a budget
   * survives a restart of the store (Redis, or metering with the memory store). Default: none,
   * every period counts from zero.
   */
  budgetHistory?: (scope: BudgetScope) => Promise<BudgetUsage>;
}

/** Whose usage, over which time: a tenant's, or one of its keys' (`keyId`). */
export interface BudgetScope {
  tenantId: string;
  keyId?: string;
  fromMs: number;
  /** Exclusive. */
  toMs: number;
}

/** Usage as budgets count it: input + output tokens, and cost in micro-units. */
export interface BudgetUsage {
  tokens: number;
  costMicros: number;
}

/**
 * The tightest request and token limits that applied to an admission: OpenAI's
 * `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`. A zero limit means none applied.
 */
export interface RateLimitView {
  limitRequests: number;
  remainingRequests: number;
  resetRequestsMs: number;
  limitTokens: number;
  remainingTokens: number;
  resetTokensMs: number;
}

/** What Settle did with one settlement's limits. */
export type SettleResult =
  /** Corrected the reservation to the real usage and freed its slots. */
  | "settled"
  /** Settled before: nothing changed. */
  | "already_settled"
  /** No reservation (expired, or admitted without one while the store was down). */
  | "unknown"
  /** The store could not be reached; the limits were not corrected. */
  | "store_error";

/** What Settle did with one settlement, and what its usage cost. */
export interface Settled {
  result: SettleResult;
  /**
   * The usage's cost in micro-units: at the settlement's price (that of the model that served the
   * request, which is not the one admitted when a fallback served it), or without one at the
   * price its reservation remembers (0 when neither is known). The same for every settlement of
   * a request id, so the ledger can rewrite it.
   */
  costMicros: number;
}

/** Admission against rate limits, concurrency and budgets, and settlement of real usage. */
export interface Limiter {
  /** Admits the request (reserving what it may use) or throws rate_limited / quota_exceeded. */
  admit(request: AdmitRequest): Promise<RateLimitView>;
  settle(settlement: Settlement): Promise<Settled>;
}

/** The `limit` label of rejections, and which limit a refusal names. */
export type LimitName = "rpm" | "tpm" | "concurrency" | "budget_tokens" | "budget_cost";

/** What the limiter remembers per reservation: what Settle must correct. */
interface ReservationRecord {
  /** `w` is absent in records written before cache writes were priced. */
  price: { i: number; o: number; c: number; w?: number };
  /** Token buckets drawn: to refund or charge the difference to the real usage. */
  tokens: Array<{ key: string; perMinute: number; reserved: number }>;
  slots: string[];
  budgets: Array<{
    key: string;
    ttlMs: number;
    tenant: boolean;
    tokenLimit: number;
    costLimit: number;
  }>;
  /** Whether slots[0] is the tenant's slot set (always, for the concurrency gauge). */
  tenantSlot: boolean;
}

interface BucketMeta {
  limit: "rpm" | "tpm";
  where: string;
}
interface SlotMeta {
  where: string;
}
interface BudgetMeta {
  owner: "tenant" | "API key";
  window: PeriodWindow;
  tenant: boolean;
  /** The key whose budget it is; undefined for the tenant's. */
  keyId: string | undefined;
}

interface Built {
  plan: AdmitPlan;
  buckets: BucketMeta[];
  slots: SlotMeta[];
  budgets: BudgetMeta[];
}

const empty: RateLimitView = {
  limitRequests: 0,
  remainingRequests: 0,
  resetRequestsMs: 0,
  limitTokens: 0,
  remainingTokens: 0,
  resetTokensMs: 0,
};

const failClosedRetryMs = 1_000;
/** Retry hint of a concurrency refusal: a slot frees when any request ends, usually soon. */
const concurrencyRetryMs = 1_000;

/**
 * The limiter: turns an AdmitRequest into one atomic plan for the store, explains refusals the
 * way OpenAI does, and settles reservations to real usage. Semantics: services/metering/README.md.
 */
export function createLimiter(options: LimiterOptions): Limiter {
  const { store, logger } = options;
  const failMode = options.failMode ?? "open";
  const leaseMs = options.leaseMs ?? 10 * 60_000;
  const ttlMs = options.reservationTtlMs ?? 60 * 60_000;
  const clock = options.clock ?? Date.now;
  const registers = [options.registry];

  const rejections = new Counter({
    name: "strata_metering_limit_rejections_total",
    help: "Admissions refused, by tenant and the limit that refused (rpm, tpm, concurrency, budget_tokens, budget_cost).",
    labelNames: ["tenant", "limit"],
    registers,
  });
  const budgetRemaining = new Gauge({
    name: "strata_metering_budget_remaining",
    help: "What is left of the tenant's budget this period (limit − used − reserved), by kind (tokens, cost_micros).",
    labelNames: ["tenant", "kind"],
    registers,
  });
  const budgetLimit = new Gauge({
    name: "strata_metering_budget_limit",
    help: "The tenant's budget for the period, by kind (tokens, cost_micros); with strata_metering_budget_remaining, the share left.",
    labelNames: ["tenant", "kind"],
    registers,
  });
  const costTotal = new Counter({
    name: "strata_metering_cost_micros_total",
    help: "Cost of settled usage in micro-units of the price table's currency, by tenant and model (each request once, as in the usage ledger).",
    labelNames: ["tenant", "model"],
    registers,
  });
  const concurrent = new Gauge({
    name: "strata_metering_concurrent_requests",
    help: "Requests of the tenant admitted and not yet settled, across replicas, as last seen by this one (aggregate with max).",
    labelNames: ["tenant"],
    registers,
  });
  const storeErrors = new Counter({
    name: "strata_metering_limits_store_errors_total",
    help: "Limit store calls that failed (unreachable, timed out), by operation (admit, settle).",
    labelNames: ["op"],
    registers,
  });
  const failOpen = new Counter({
    name: "strata_metering_fail_open_admissions_total",
    help: "Requests admitted without checking limits because the limit store failed (fail-open).",
    registers,
  });
  const seeded = new Counter({
    name: "strata_metering_budget_seeds_total",
    help: "Usage-ledger lookups for budget periods the limit store held no counters for (a new period, or a store that lost its state), by this replica.",
    registers,
  });

  /** Budget periods being seeded by this replica: concurrent admissions wait for one seeding. */
  const seeding = new Map<string, Promise<BudgetSeed>>();
  const seedOf = (hold: AdmitPlan["budgets"][number], meta: BudgetMeta, tenant: string) => {
    const running = seeding.get(hold.key);
    if (running) return running;
    const started = (async (): Promise<BudgetSeed> => {
      const usage = options.budgetHistory
        ? await options.budgetHistory({
            tenantId: tenant,
            ...(meta.keyId === undefined ? {} : { keyId: meta.keyId }),
            fromMs: meta.window.startMs,
            toMs: meta.window.endMs,
          })
        : { tokens: 0, costMicros: 0 };
      seeded.inc();
      logger.info(
        { tenantId: tenant, keyId: meta.keyId, period: meta.window.id, ...usage },
        options.budgetHistory
          ? "budget period started from the usage ledger"
          : "budget period started from zero",
      );
      return {
        key: hold.key,
        usedTokens: usage.tokens,
        usedCost: usage.costMicros,
        ttlMs: hold.ttlMs,
      };
    })().finally(() => seeding.delete(hold.key));
    seeding.set(hold.key, started);
    return started;
  };

  /**
   * Admits a plan; a budget period the store has no counters for is first given its usage so far
   * from the ledger (once, however many replicas and requests race), then the plan is tried again.
   */
  const admitSeeded = async (built: Built, tenant: string): Promise<AdmitOutcome> => {
    const first = await store.admit(built.plan);
    const cold = first.budgets.flatMap((b, i) => (b.seeded ? [] : [i]));
    if (first.duplicate || cold.length === 0) return first;
    const seeds = await Promise.all(
      cold.map((i) => {
        const hold = built.plan.budgets[i];
        const meta = built.budgets[i];
        if (!hold || !meta) throw new Error(`budget ${i} is not in the plan`);
        return seedOf(hold, meta, tenant);
      }),
    );
    await store.seedBudgets(seeds, clock());
    const second = await store.admit(built.plan);
    // Only a store emptied again in between (another restart) gets here: a store failure.
    if (second.budgets.some((b) => !b.seeded)) throw new Error("budget counters vanished");
    return second;
  };

  let lastStoreErrorLogMs = Number.NEGATIVE_INFINITY;
  const logStoreError = (err: unknown, op: string) => {
    storeErrors.inc({ op });
    const now = Date.now();
    if (now - lastStoreErrorLogMs < 10_000) return;
    lastStoreErrorLogMs = now;
    logger.warn({ err, op, failMode }, "limits store failed (repeats are not logged for 10 s)");
  };

  const setBudgetGauge = (
    tenant: string,
    limits: { tokenLimit: number; costLimit: number },
    level: BudgetLevel,
  ) => {
    if (limits.tokenLimit > 0) {
      budgetLimit.set({ tenant, kind: "tokens" }, limits.tokenLimit);
      budgetRemaining.set(
        { tenant, kind: "tokens" },
        Math.max(0, limits.tokenLimit - level.usedTokens - level.reservedTokens),
      );
    }
    if (limits.costLimit > 0) {
      budgetLimit.set({ tenant, kind: "cost_micros" }, limits.costLimit);
      budgetRemaining.set(
        { tenant, kind: "cost_micros" },
        Math.max(0, limits.costLimit - level.usedCost - level.reservedCost),
      );
    }
  };

  const build = (req: AdmitRequest, tenant: string, nowMs: number): Built => {
    const keyId = req.principal?.keyId ?? "";
    const model = req.model || "-";
    const names = [req.model, ...req.modelAliases].filter((n) => n !== "");
    const prefix = `strata:{${encodeURIComponent(tenant)}}:`;
    const reserveTokens = req.estimatedInputTokens + req.maxOutputTokens;
    const price = req.price;
    const reserveCost = costMicros(price, {
      input: req.estimatedInputTokens,
      output: req.maxOutputTokens,
    });
    const built: Built = {
      plan: {
        nowMs,
        reservationId: req.requestId,
        recordKey: recordKey(tenant, req.requestId),
        record: "",
        recordTtlMs: ttlMs,
        leaseMs,
        buckets: [],
        slots: [],
        budgets: [],
      },
      buckets: [],
      slots: [],
      budgets: [],
    };
    const record: ReservationRecord = {
      price: {
        i: price?.inputPerMillionMicros ?? 0,
        o: price?.outputPerMillionMicros ?? 0,
        c: price?.cacheReadPerMillionMicros ?? 0,
        w: price?.cacheWritePerMillionMicros ?? 0,
      },
      tokens: [],
      slots: [],
      budgets: [],
      tenantSlot: true,
    };

    const addRate = (
      scope: string,
      rate: Partial<RateLimits> | undefined,
      where: string,
      always = false,
    ) => {
      if (rate?.requestsPerMinute) {
        built.plan.buckets.push({
          key: `${prefix}rpm:${scope}`,
          perMinute: rate.requestsPerMinute,
          cost: 1,
        });
        built.buckets.push({ limit: "rpm", where });
      }
      if (rate?.tokensPerMinute) {
        const key = `${prefix}tpm:${scope}`;
        built.plan.buckets.push({ key, perMinute: rate.tokensPerMinute, cost: reserveTokens });
        built.buckets.push({ limit: "tpm", where });
        record.tokens.push({ key, perMinute: rate.tokensPerMinute, reserved: reserveTokens });
      }
      const limit = rate?.maxConcurrentRequests ?? 0;
      if (limit > 0 || always) {
        const key = `${prefix}conc:${scope}`;
        built.plan.slots.push({ key, limit });
        built.slots.push({ where });
        record.slots.push(key);
      }
    };

    const addBudget = (scope: string, budget: Budget | undefined, owner: "tenant" | "API key") => {
      if (!budget || (budget.tokens <= 0 && budget.costMicros <= 0)) return;
      const window = periodWindow(budget.period, nowMs);
      const key = `${prefix}budget:${scope}:${window.id}`;
      const keepMs = window.endMs - nowMs + ttlMs;
      const tokenLimit = Math.max(0, budget.tokens);
      const costLimit = Math.max(0, budget.costMicros);
      built.plan.budgets.push({
        key,
        tokenLimit,
        costLimit,
        tokens: reserveTokens,
        cost: reserveCost,
        ttlMs: keepMs,
      });
      built.budgets.push({
        owner,
        window,
        tenant: owner === "tenant",
        keyId: owner === "tenant" ? undefined : keyId,
      });
      record.budgets.push({
        key,
        ttlMs: keepMs,
        tenant: owner === "tenant",
        tokenLimit,
        costLimit,
      });
    };

    const scopes: Array<{
      id: string;
      limits: Limits | undefined;
      where: string;
      owner: "tenant" | "API key";
    }> = [
      { id: "t", limits: req.tenantLimits, where: `tenant ${tenant}`, owner: "tenant" },
      { id: `k:${keyId}`, limits: req.keyLimits, where: `API key ${keyId}`, owner: "API key" },
    ];
    for (const scope of scopes) {
      // The tenant's slot set is always kept (limit 0 = count only) for the concurrency gauge.
      addRate(scope.id, scope.limits?.rate, `on ${scope.where}`, scope.owner === "tenant");
      const modelRate = mergeModelRules(scope.limits?.models ?? [], names);
      if (modelRate)
        addRate(`${scope.id}:m:${model}`, modelRate, `on model ${model} for ${scope.where}`);
      addBudget(scope.id, scope.limits?.budget, scope.owner);
    }
    built.plan.record = JSON.stringify(record);
    return built;
  };

  const refusal = (built: Built, outcome: AdmitOutcome, tenant: string, nowMs: number) => {
    // A budget refusal wins: it lasts until the period ends, whatever the rate limits say.
    for (const [i, state] of outcome.budgets.entries()) {
      const hold = built.plan.budgets[i];
      const meta = built.budgets[i];
      if (state.ok || !hold || !meta) continue;
      const tokensOver =
        hold.tokenLimit > 0 &&
        state.usedTokens + state.reservedTokens + hold.tokens > hold.tokenLimit;
      const [kind, limit, used, reserved, requested, unit]: [
        string,
        number,
        number,
        number,
        number,
        string,
      ] = tokensOver
        ? ["token", hold.tokenLimit, state.usedTokens, state.reservedTokens, hold.tokens, ""]
        : ["cost", hold.costLimit, state.usedCost, state.reservedCost, hold.cost, " micros"];
      const renews = new Date(meta.window.endMs).toISOString().replace(".000Z", "Z");
      return {
        limit: (tokensOver ? "budget_tokens" : "budget_cost") as LimitName,
        error: new StrataError(
          "quota_exceeded",
          `You exceeded your ${meta.owner}'s ${meta.window.adjective} ${kind} budget: ` +
            `Budget ${limit}${unit}, Used ${used}${unit}, Reserved ${reserved}${unit}, ` +
            `Requested ${requested}${unit}. The budget renews at ${renews}.`,
          { retryAfterMs: Math.max(1, meta.window.endMs - nowMs) },
        ),
      };
    }
    // Among rate refusals, name the one that lasts longest: retrying sooner would fail anyway.
    let worst: { limit: LimitName; waitMs: number; error: StrataError } | undefined;
    const consider = (limit: LimitName, waitMs: number, error: () => StrataError) => {
      if (!worst || waitMs > worst.waitMs) worst = { limit, waitMs, error: error() };
    };
    for (const [i, state] of outcome.buckets.entries()) {
      const draw = built.plan.buckets[i];
      const meta = built.buckets[i];
      if (state.ok || !draw || !meta) continue;
      const what = meta.limit === "rpm" ? "requests per minute (RPM)" : "tokens per minute (TPM)";
      const waitMs = bucketWaitMs(state.units, draw.cost, draw.perMinute);
      consider(meta.limit, waitMs, () =>
        Number.isFinite(waitMs)
          ? new StrataError(
              "rate_limited",
              `Rate limit reached for ${what} ${meta.where}: Limit ${draw.perMinute}, ` +
                `Used ${bucketUsed(state.units, draw.perMinute)}, Requested ${draw.cost}. ` +
                `Please try again in ${formatWait(waitMs)}.`,
              { retryAfterMs: Math.max(1, waitMs) },
            )
          : new StrataError(
              "rate_limited",
              `Request too large for ${what} ${meta.where}: Limit ${draw.perMinute}, ` +
                `Requested ${draw.cost}. The input or output tokens must be reduced in order to ` +
                "run successfully.",
            ),
      );
    }
    for (const [i, state] of outcome.slots.entries()) {
      const claim = built.plan.slots[i];
      const meta = built.slots[i];
      if (state.ok || !claim || !meta) continue;
      const waitMs = Math.max(1, Math.min(concurrencyRetryMs, state.oldestLeaseEndMs - nowMs));
      consider(
        "concurrency",
        waitMs,
        () =>
          new StrataError(
            "rate_limited",
            `Too many concurrent requests ${meta.where}: Limit ${claim.limit}, Used ${state.inUse}, ` +
              `Requested 1. Please try again in ${formatWait(waitMs)}.`,
            { retryAfterMs: waitMs },
          ),
      );
    }
    if (worst) return worst;
    // A store that refuses without naming a check breaks the contract; never admit silently.
    return {
      limit: "rpm" as LimitName,
      error: new StrataError("internal", undefined, {
        cause: new Error(`unexplained refusal for ${tenant}`),
      }),
    };
  };

  const view = (built: Built, outcome: AdmitOutcome): RateLimitView => {
    const result = { ...empty };
    let requests: { remaining: number; limit: number } | undefined;
    let tokens: { remaining: number; limit: number } | undefined;
    for (const [i, state] of outcome.buckets.entries()) {
      const draw = built.plan.buckets[i];
      const meta = built.buckets[i];
      if (!draw || !meta) continue;
      const v = bucketView(state.units, draw.perMinute);
      const tighter = (than: { remaining: number; limit: number } | undefined) =>
        !than ||
        v.remaining < than.remaining ||
        (v.remaining === than.remaining && v.limit < than.limit);
      if (meta.limit === "rpm" && tighter(requests)) {
        requests = v;
        result.limitRequests = uint32(v.limit);
        result.remainingRequests = uint32(v.remaining);
        result.resetRequestsMs = uint32(v.resetMs);
      } else if (meta.limit === "tpm" && tighter(tokens)) {
        tokens = v;
        result.limitTokens = uint32(v.limit);
        result.remainingTokens = uint32(v.remaining);
        result.resetTokensMs = uint32(v.resetMs);
      }
    }
    return result;
  };

  return {
    async admit(req) {
      const tenant = req.principal?.tenantId ?? "";
      if (!tenant)
        throw new StrataError("invalid_request", "principal.tenant_id is required.", {
          param: "principal",
        });
      const nowMs = clock();
      const built = build(req, tenant, nowMs);
      let outcome: AdmitOutcome;
      try {
        outcome = await admitSeeded(built, tenant);
      } catch (err) {
        logStoreError(err, "admit");
        if (failMode === "closed") {
          throw new StrataError(
            "upstream_unavailable",
            `Rate limits cannot be checked right now. Please try again in ${formatWait(failClosedRetryMs)}.`,
            { retryAfterMs: failClosedRetryMs, cause: err },
          );
        }
        failOpen.inc();
        return { ...empty };
      }
      const tenantSlot = outcome.slots[0];
      if (tenantSlot) concurrent.set({ tenant }, tenantSlot.inUse);
      for (const [i, state] of outcome.budgets.entries()) {
        const hold = built.plan.budgets[i];
        if (hold && built.budgets[i]?.tenant) setBudgetGauge(tenant, hold, state);
      }
      if (!outcome.admitted) {
        const refused = refusal(built, outcome, tenant, nowMs);
        rejections.inc({ tenant, limit: refused.limit });
        throw refused.error;
      }
      return view(built, outcome);
    },

    async settle({ reservationId, usage, price }) {
      const tenant = usage?.principal?.tenantId ?? "";
      const id = reservationId || usage?.requestId || "";
      if (!usage || !tenant || !id) return { result: "unknown", costMicros: 0 };
      const counts = {
        input: usage.inputTokens,
        output: usage.outputTokens,
        cacheRead: usage.cacheReadInputTokens,
        cacheWrite: usage.cacheWriteInputTokens,
      };
      // Counted once per request, like strata_metering_tokens_total: a repeat is not counted.
      const settled = (result: SettleResult, cost: number): Settled => {
        if (result !== "already_settled") costTotal.inc({ tenant, model: usage.model }, cost);
        return { result, costMicros: cost };
      };
      const key = recordKey(tenant, id);
      let cost = costMicros(price, counts);
      try {
        const found = await store.reservation(key, clock());
        if (!found) return settled("unknown", cost);
        if (found.state === "settled") return settled("already_settled", cost);
        const record = JSON.parse(found.record) as ReservationRecord;
        const tokens = usage.inputTokens + usage.outputTokens;
        if (!price) cost = costMicros(priceOf(record.price), counts);
        const outcome = await store.settle({
          nowMs: clock(),
          reservationId: id,
          recordKey: key,
          buckets: record.tokens.map((b) => ({
            key: b.key,
            perMinute: b.perMinute,
            refund: b.reserved - tokens,
          })),
          slots: record.slots,
          budgets: record.budgets.map((b) => ({ key: b.key, tokens, cost, ttlMs: b.ttlMs })),
        });
        if (!outcome.applied) return settled("already_settled", cost);
        const tenantSlot = outcome.slots[0];
        if (record.tenantSlot && tenantSlot !== undefined) concurrent.set({ tenant }, tenantSlot);
        for (const [i, level] of outcome.budgets.entries()) {
          const budget = record.budgets[i];
          if (budget?.tenant) setBudgetGauge(tenant, budget, level);
        }
        return settled("settled", cost);
      } catch (err) {
        logStoreError(err, "settle");
        return settled("store_error", cost);
      }
    },
  };
}

/** Where a reservation is remembered: under the tenant's hash tag, like every key of the tenant. */
function recordKey(tenant: string, reservationId: string): string {
  return `strata:{${encodeURIComponent(tenant)}}:res:${reservationId}`;
}

function priceOf(p: ReservationRecord["price"]): PriceMicros {
  return {
    inputPerMillionMicros: p.i,
    outputPerMillionMicros: p.o,
    cacheReadPerMillionMicros: p.c,
    cacheWritePerMillionMicros: p.w ?? 0,
  };
}

/**
 * The model rules of a scope that match the model (by id or alias), merged: each dimension takes
 * the tightest non-zero value among them. Undefined when none matches or none limits anything.
 */
export function mergeModelRules(rules: readonly ModelRateLimits[], names: readonly string[]) {
  let merged:
    | { requestsPerMinute: number; tokensPerMinute: number; maxConcurrentRequests: number }
    | undefined;
  const tighter = (a: number, b: number) => (a === 0 ? b : b === 0 ? a : Math.min(a, b));
  for (const rule of rules) {
    if (!rule.limits || !modelMatches(rule.model, names)) continue;
    merged = {
      requestsPerMinute: tighter(merged?.requestsPerMinute ?? 0, rule.limits.requestsPerMinute),
      tokensPerMinute: tighter(merged?.tokensPerMinute ?? 0, rule.limits.tokensPerMinute),
      maxConcurrentRequests: tighter(
        merged?.maxConcurrentRequests ?? 0,
        rule.limits.maxConcurrentRequests,
      ),
    };
  }
  return merged;
}

/** "120ms", "1.2s", "6s", "1m30s": how OpenAI's messages say how long to wait. */
export function formatWait(ms: number): string {
  if (ms < 1_000) return `${Math.ceil(ms)}ms`;
  const seconds = (n: number) => `${Number((n / 1_000).toFixed(3))}s`;
  if (ms < 60_000) return seconds(ms);
  const minutes = Math.floor(ms / 60_000);
  const rest = ms % 60_000;
  return rest === 0 ? `${minutes}m` : `${minutes}m${seconds(rest)}`;
}

const uint32 = (n: number) => Math.max(0, Math.min(0xffff_ffff, Math.round(n)));
