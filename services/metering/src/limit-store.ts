/**
 * The limit store: where admission state lives. Two implementations behave the same: in memory
 * (one replica) and Redis (several replicas, atomic Lua scripts). The limiter decides *what* to
 * check (scopes, rules, costs, keys); a store only executes a plan atomically: every check is
 * evaluated, and either every draw is committed or none is.
 *
 * Keys are chosen by the limiter and all start with `strata:{<tenant>}:`, so a tenant's keys share
 * one Redis Cluster slot and a multi-key script stays legal. Every stored thing expires.
 *
 * Times are the caller's clock (`now`), never the store's: tests control time, and expiries are
 * always relative (a TTL, never an absolute instant) so they work whatever the store's clock says.
 */
export interface LimitStore {
  /** Evaluates a plan and, if every check passes, commits it and remembers the reservation. */
  admit(plan: AdmitPlan): Promise<AdmitOutcome>;
  /**
   * The reservation stored at admission, "settled" once settled, undefined when unknown/expired
   * (at `nowMs`, the caller's clock, for stores that keep time themselves; Redis uses its own).
   */
  reservation(recordKey: string, nowMs: number): Promise<ReservationLookup>;
  /** Applies a settlement once: a reservation already settled (or unknown) changes nothing. */
  settle(plan: SettlePlan): Promise<SettleOutcome>;
  /**
   * Gives budget periods the store has no counters for (`seeded: false` in an AdmitOutcome)
   * their usage so far, each atomically and once: a period already seeded, by another replica
   * meanwhile, is left as it is; one with counters but no seed mark (written before seeding
   * existed) is only marked.
   */
  seedBudgets(seeds: BudgetSeed[], nowMs: number): Promise<void>;
  close(): Promise<void>;
}

/** A draw from a token bucket of `perMinute` (see token-bucket.ts). */
export interface BucketDraw {
  key: string;
  /** The bucket's capacity, refilled continuously over a minute; > 0. */
  perMinute: number;
  /** What this request takes: 1 request, or its reserved tokens. */
  cost: number;
}

/** A concurrency slot: a lease held from Admit to Settle in the set at `key`. */
export interface SlotClaim {
  key: string;
  /** Most slots held at once; 0 counts the request without limiting (for the gauge). */
  limit: number;
}

/** A hold on a period budget: what the request may use, until settled with what it used. */
export interface BudgetHold {
  /** The period's counters; `<key>:holds` and `<key>:exp` hold the open reservations. */
  key: string;
  /** 0 = unlimited. */
  tokenLimit: number;
  costLimit: number;
  tokens: number;
  cost: number;
  /** How long the period's counters must be kept: to the period's end plus the reservation TTL. */
  ttlMs: number;
}

/** Everything one admission checks and, if all pass, draws: executed atomically by a store. */
export interface AdmitPlan {
  nowMs: number;
  reservationId: string;
  /** Where the reservation is remembered, and what is remembered (opaque to the store). */
  recordKey: string;
  record: string;
  /** How long the reservation (and its budget holds) is remembered. */
  recordTtlMs: number;
  /** How long a concurrency slot is held if the request is never settled. */
  leaseMs: number;
  buckets: BucketDraw[];
  slots: SlotClaim[];
  budgets: BudgetHold[];
}

/** The usage of a budget period before the store knew it (from the usage ledger). */
export interface BudgetSeed {
  key: string;
  usedTokens: number;
  usedCost: number;
  /** As BudgetHold.ttlMs. */
  ttlMs: number;
}

/** A budget's counters. */
export interface BudgetLevel {
  usedTokens: number;
  reservedTokens: number;
  usedCost: number;
  reservedCost: number;
}

/**
 * The evaluation of a plan, check by check in plan order. When admitted, levels are after the
 * draw; when refused, before (nothing was drawn). A known reservation id is admitted again
 * without drawing anything (`duplicate`).
 *
 * A budget period the store holds no counters for is `seeded: false` and refuses the plan: the
 * period is new, or the store lost its state (a Redis or metering restart), and its usage so far
 * must come from the ledger (seedBudgets) before anything is drawn from it.
 */
export interface AdmitOutcome {
  admitted: boolean;
  duplicate: boolean;
  buckets: Array<{ ok: boolean; units: number }>;
  slots: Array<{ ok: boolean; inUse: number; oldestLeaseEndMs: number }>;
  budgets: Array<{ ok: boolean; seeded: boolean } & BudgetLevel>;
}

/** What a settled reservation's record becomes: settling it again changes nothing. */
export const settledMark = "settled";

/**
 * How long a settled mark is kept (at most; never longer than the reservation would have been).
 * It only has to outlive a settlement's retries (the gateway retries for seconds, or for as long
 * as metering is unreachable, when the first attempt never arrived); kept for the reservation's
 * whole TTL (an hour) it would hold one key per request, 3.6 million at 1,000 requests/s. A
 * settlement arriving after it is gone is `unknown`: its usage is still written to the ledger
 * (priced from the settlement), only the limits are not corrected twice.
 */
export const settledMarkTtlMs = 10 * 60_000;

/** What the store remembers of a reservation id. */
export type ReservationLookup =
  | { state: "pending"; record: string }
  | { state: "settled" }
  | undefined;

/** The corrections of one settlement, applied once (atomically with marking it settled). */
export interface SettlePlan {
  nowMs: number;
  reservationId: string;
  recordKey: string;
  /** Token buckets to correct: `refund` tokens back (negative: charge the overrun). */
  buckets: Array<{ key: string; perMinute: number; refund: number }>;
  /** Slot sets to leave. */
  slots: string[];
  /** Budgets: release this reservation's hold (if still held), then add what was used. */
  budgets: Array<{ key: string; tokens: number; cost: number; ttlMs: number }>;
}

/** What a settlement did, for the gauges. */
export interface SettleOutcome {
  /** False when the reservation was already settled or is unknown: nothing changed. */
  applied: boolean;
  /** Slots still held in each slot set, in plan order. */
  slots: number[];
  budgets: BudgetLevel[];
}
