import {
  type AdmitOutcome,
  type AdmitPlan,
  type BudgetLevel,
  type BudgetSeed,
  type LimitStore,
  type ReservationLookup,
  type SettleOutcome,
  type SettlePlan,
  settledMark,
  settledMarkTtlMs,
} from "./limit-store.ts";
import { type BucketState, bucketLevel, bucketTtlMs, unitsPerToken } from "./token-bucket.ts";

interface Expiring {
  expiresAtMs: number;
}
interface Bucket extends BucketState, Expiring {}
interface Budget extends BudgetLevel, Expiring {
  holds: Map<string, { tokens: number; cost: number; expiresAtMs: number }>;
  /**
   * When the earliest hold expires: holds are scanned only from then on, so an admission costs
   * the same however many reservations are outstanding (abandoned ones linger for an hour).
   */
  nextHoldExpiryMs: number;
  /** Whether the period's usage before this store knew it has been added (seedBudgets). */
  seeded: boolean;
}
interface StoredRecord extends Expiring {
  value: string;
}

/** How often (in the callers' clock) expired entries are swept out. */
const sweepEveryMs = 60_000;

/**
 * The limit store of a single replica: plain maps. Each operation runs synchronously from start
 * to end, so a plan is atomic without locks; entries expire like their Redis counterparts
 * (checked on access, and swept once a minute) so memory stays bounded by recent activity.
 */
export function createMemoryLimitStore(): LimitStore {
  const buckets = new Map<string, Bucket>();
  const slots = new Map<string, Map<string, number>>();
  const budgets = new Map<string, Budget>();
  const records = new Map<string, StoredRecord>();
  let lastSweepMs = Number.NEGATIVE_INFINITY;

  const live = <T extends Expiring>(map: Map<string, T>, key: string, nowMs: number) => {
    const entry = map.get(key);
    if (entry && entry.expiresAtMs <= nowMs) {
      map.delete(key);
      return undefined;
    }
    return entry;
  };

  const sweep = (nowMs: number) => {
    if (nowMs - lastSweepMs < sweepEveryMs) return;
    lastSweepMs = nowMs;
    for (const map of [buckets, budgets, records] as Map<string, Expiring>[]) {
      for (const [key, entry] of map) if (entry.expiresAtMs <= nowMs) map.delete(key);
    }
    for (const [key, set] of slots) {
      for (const [id, end] of set) if (end <= nowMs) set.delete(id);
      if (set.size === 0) slots.delete(key);
    }
    for (const budget of budgets.values()) releaseExpiredHolds(budget, nowMs);
  };

  const releaseExpiredHolds = (budget: Budget, nowMs: number) => {
    if (budget.nextHoldExpiryMs > nowMs) return;
    let next = Number.POSITIVE_INFINITY;
    for (const [id, hold] of budget.holds) {
      if (hold.expiresAtMs > nowMs) {
        next = Math.min(next, hold.expiresAtMs);
        continue;
      }
      budget.reservedTokens -= hold.tokens;
      budget.reservedCost -= hold.cost;
      budget.holds.delete(id);
    }
    budget.nextHoldExpiryMs = next;
  };

  const slotSet = (key: string, nowMs: number) => {
    const set = slots.get(key) ?? new Map<string, number>();
    for (const [id, end] of set) if (end <= nowMs) set.delete(id);
    return set;
  };

  const budgetAt = (key: string, nowMs: number): Budget => {
    const budget = live(budgets, key, nowMs) ?? {
      usedTokens: 0,
      reservedTokens: 0,
      usedCost: 0,
      reservedCost: 0,
      holds: new Map(),
      nextHoldExpiryMs: Number.POSITIVE_INFINITY,
      seeded: false,
      expiresAtMs: 0,
    };
    releaseExpiredHolds(budget, nowMs);
    return budget;
  };

  const level = ({ usedTokens, reservedTokens, usedCost, reservedCost }: BudgetLevel) => ({
    usedTokens,
    reservedTokens,
    usedCost,
    reservedCost,
  });

  return {
    async admit(plan: AdmitPlan): Promise<AdmitOutcome> {
      const now = plan.nowMs;
      sweep(now);
      const duplicate = live(records, plan.recordKey, now) !== undefined;
      const bucketChecks = plan.buckets.map((draw) => {
        const units = bucketLevel(live(buckets, draw.key, now), draw.perMinute, now);
        return {
          draw,
          units,
          ok: draw.cost <= draw.perMinute && units >= draw.cost * unitsPerToken,
        };
      });
      const slotChecks = plan.slots.map((claim) => {
        const set = slotSet(claim.key, now);
        return { claim, set, ok: claim.limit === 0 || set.size < claim.limit };
      });
      const budgetChecks = plan.budgets.map((hold) => {
        const budget = budgetAt(hold.key, now);
        const fits = (limit: number, used: number, reserved: number, more: number) =>
          limit === 0 || used + reserved + more <= limit;
        const ok =
          budget.seeded &&
          fits(hold.tokenLimit, budget.usedTokens, budget.reservedTokens, hold.tokens) &&
          fits(hold.costLimit, budget.usedCost, budget.reservedCost, hold.cost);
        return { hold, budget, ok };
      });
      const admitted =
        duplicate ||
        (bucketChecks.every((c) => c.ok) &&
          slotChecks.every((c) => c.ok) &&
          budgetChecks.every((c) => c.ok));

      if (admitted && !duplicate) {
        for (const c of bucketChecks) {
          c.units -= c.draw.cost * unitsPerToken;
          buckets.set(c.draw.key, {
            units: c.units,
            atMs: now,
            expiresAtMs: now + bucketTtlMs(c.units, c.draw.perMinute),
          });
        }
        for (const c of slotChecks) {
          c.set.set(plan.reservationId, now + plan.leaseMs);
          slots.set(c.claim.key, c.set);
        }
        for (const c of budgetChecks) {
          c.budget.reservedTokens += c.hold.tokens;
          c.budget.reservedCost += c.hold.cost;
          c.budget.holds.set(plan.reservationId, {
            tokens: c.hold.tokens,
            cost: c.hold.cost,
            expiresAtMs: now + plan.recordTtlMs,
          });
          c.budget.nextHoldExpiryMs = Math.min(c.budget.nextHoldExpiryMs, now + plan.recordTtlMs);
          c.budget.expiresAtMs = Math.max(c.budget.expiresAtMs, now + c.hold.ttlMs);
          budgets.set(c.hold.key, c.budget);
        }
        records.set(plan.recordKey, { value: plan.record, expiresAtMs: now + plan.recordTtlMs });
      }
      return {
        admitted,
        duplicate,
        buckets: bucketChecks.map((c) => ({ ok: c.ok, units: c.units })),
        slots: slotChecks.map((c) => ({
          ok: c.ok,
          inUse: c.set.size,
          oldestLeaseEndMs: c.set.size > 0 ? Math.min(...c.set.values()) : 0,
        })),
        budgets: budgetChecks.map((c) => ({
          ok: c.ok,
          seeded: c.budget.seeded,
          ...level(c.budget),
        })),
      };
    },

    async reservation(recordKey: string, nowMs: number): Promise<ReservationLookup> {
      const entry = live(records, recordKey, nowMs);
      if (!entry) return undefined;
      return entry.value === settledMark
        ? { state: "settled" }
        : { state: "pending", record: entry.value };
    },

    async settle(plan: SettlePlan): Promise<SettleOutcome> {
      const now = plan.nowMs;
      sweep(now);
      const record = live(records, plan.recordKey, now);
      if (!record || record.value === settledMark) {
        return { applied: false, slots: [], budgets: [] };
      }
      record.value = settledMark;
      record.expiresAtMs = Math.min(record.expiresAtMs, now + settledMarkTtlMs);
      for (const { key, perMinute, refund } of plan.buckets) {
        const units = Math.min(
          perMinute * unitsPerToken,
          bucketLevel(live(buckets, key, now), perMinute, now) + refund * unitsPerToken,
        );
        buckets.set(key, { units, atMs: now, expiresAtMs: now + bucketTtlMs(units, perMinute) });
      }
      const inUse = plan.slots.map((key) => {
        const set = slotSet(key, now);
        set.delete(plan.reservationId);
        if (set.size === 0) slots.delete(key);
        return set.size;
      });
      const levels = plan.budgets.map((b) => {
        const budget = budgetAt(b.key, now);
        const hold = budget.holds.get(plan.reservationId);
        if (hold) {
          budget.reservedTokens -= hold.tokens;
          budget.reservedCost -= hold.cost;
          budget.holds.delete(plan.reservationId);
        }
        budget.usedTokens += b.tokens;
        budget.usedCost += b.cost;
        budget.expiresAtMs = Math.max(budget.expiresAtMs, now + b.ttlMs);
        budgets.set(b.key, budget);
        return level(budget);
      });
      return { applied: true, slots: inUse, budgets: levels };
    },

    async seedBudgets(seeds: BudgetSeed[], nowMs: number) {
      for (const seed of seeds) {
        const budget = budgetAt(seed.key, nowMs);
        if (budget.seeded) continue;
        const empty = budget.usedTokens === 0 && budget.usedCost === 0 && budget.holds.size === 0;
        if (empty) {
          budget.usedTokens = seed.usedTokens;
          budget.usedCost = seed.usedCost;
        }
        budget.seeded = true;
        budget.expiresAtMs = Math.max(budget.expiresAtMs, nowMs + seed.ttlMs);
        budgets.set(seed.key, budget);
      }
    },

    async close() {
      buckets.clear();
      slots.clear();
      budgets.clear();
      records.clear();
    },
  };
}
