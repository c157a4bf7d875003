import type { Logger } from "@strata/platform";
import { Redis } from "ioredis";
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

/** Options of createRedisLimitStore. */
export interface RedisLimitStoreOptions {
  /** `redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS (ElastiCache in transit). */
  url: string;
  logger: Logger;
  /**
   * Longest wait for one command. Past it the call fails and the limiter's fail mode decides, so
   * a Redis that hangs cannot hang admissions. Default 200 ms.
   */
  commandTimeoutMs?: number;
  /** Longest wait for a TCP connection. Default 1,000 ms. */
  connectTimeoutMs?: number;
}

/** The Redis store, plus a way to wait for its first connection. */
export interface RedisLimitStore extends LimitStore {
  /** Resolves true once connected, false if not within `timeoutMs` (it keeps trying). */
  ready(timeoutMs: number): Promise<boolean>;
}

// The scripts mirror memory-limit-store.ts step for step; the limit-store test cases run against
// both. Numbers are integers below 2^53 (token-bucket.ts); `s()` formats them for Redis without
// the exponent notation Lua's default conversion would use. Booleans go out as 0/1: a false in
// a Lua table would end the array Redis returns.
const luaHelpers = `
local U = ${60_000}
local function s(x)
  if x == 0 then return "0" end -- not "-0", which Redis does not take for an integer
  return string.format("%.0f", x)
end
local function b(x) if x then return 1 end return 0 end
local function num(x) return tonumber(x) or 0 end
local function keepFor(key, ms)
  if redis.call("PTTL", key) < ms then redis.call("PEXPIRE", key, s(ms)) end
end
local function refill(key, per, now)
  local cap = per * U
  local st = redis.call("HMGET", key, "u", "t")
  if not st[1] then return cap end
  return math.min(cap, tonumber(st[1]) + math.max(0, now - tonumber(st[2])) * per)
end
local function storeBucket(key, per, units, now)
  redis.call("HSET", key, "u", s(units), "t", s(now))
  redis.call("PEXPIRE", key, s(math.ceil((per * U - units) / per) + 60000))
end
local function releaseHold(key, holds, exp, id)
  local h = redis.call("HGET", holds, id)
  if h then
    local t, c = string.match(h, "^(%-?%d+) (%-?%d+)$")
    redis.call("HINCRBY", key, "rt", s(-tonumber(t)))
    redis.call("HINCRBY", key, "rc", s(-tonumber(c)))
    redis.call("HDEL", holds, id)
  end
  redis.call("ZREM", exp, id)
end
local function budgetLevel(key)
  local v = redis.call("HMGET", key, "ut", "rt", "uc", "rc")
  return num(v[1]), num(v[2]), num(v[3]), num(v[4])
end
`;

/**
 * KEYS: record, nb bucket keys, ns slot keys, ng × (budget, budget:holds, budget:exp).
 * ARGV: now, id, record, recordTtl, lease, nb, ns, ng, nb × (perMinute, cost), ns × limit,
 *       ng × (tokenLimit, costLimit, tokens, cost, ttl).
 * Returns admitted, duplicate, nb × (ok, units), ns × (ok, inUse, oldestLeaseEnd),
 *         ng × (ok, seeded, usedTokens, reservedTokens, usedCost, reservedCost).
 * A budget's hash has the field `s` once seeded (seedLua); without it the budget refuses.
 */
const admitLua = `${luaHelpers}
local now, id, ttl, lease = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[5])
local nb, ns, ng = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local duplicate = redis.call("EXISTS", KEYS[1]) == 1
local all = true
local a, k = 9, 2
local bk, sl, bg = {}, {}, {}
for i = 1, nb do
  local per, cost = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local units = refill(KEYS[k], per, now)
  local ok = cost <= per and units >= cost * U
  all = all and ok
  bk[i] = { key = KEYS[k], per = per, cost = cost, units = units, ok = ok }
  a, k = a + 2, k + 1
end
for i = 1, ns do
  local limit, key = tonumber(ARGV[a]), KEYS[k]
  redis.call("ZREMRANGEBYSCORE", key, "-inf", s(now))
  local n = redis.call("ZCARD", key)
  local ok = limit == 0 or n < limit
  all = all and ok
  sl[i] = { key = key, n = n, ok = ok }
  a, k = a + 1, k + 1
end
for i = 1, ng do
  local g = { key = KEYS[k], holds = KEYS[k + 1], exp = KEYS[k + 2],
    tl = tonumber(ARGV[a]), cl = tonumber(ARGV[a + 1]), t = tonumber(ARGV[a + 2]),
    c = tonumber(ARGV[a + 3]), ttl = tonumber(ARGV[a + 4]) }
  -- Holds of reservations never settled expire with them (bounded work per call).
  local stale = redis.call("ZRANGEBYSCORE", g.exp, "-inf", s(now), "LIMIT", 0, 100)
  for _, old in ipairs(stale) do releaseHold(g.key, g.holds, g.exp, old) end
  g.ut, g.rt, g.uc, g.rc = budgetLevel(g.key)
  g.seeded = redis.call("HEXISTS", g.key, "s") == 1
  g.ok = g.seeded and (g.tl == 0 or g.ut + g.rt + g.t <= g.tl)
    and (g.cl == 0 or g.uc + g.rc + g.c <= g.cl)
  all = all and g.ok
  bg[i] = g
  a, k = a + 5, k + 3
end
local admitted = duplicate or all
if admitted and not duplicate then
  for _, x in ipairs(bk) do
    x.units = x.units - x.cost * U
    storeBucket(x.key, x.per, x.units, now)
  end
  for _, x in ipairs(sl) do
    redis.call("ZADD", x.key, s(now + lease), id)
    x.n = x.n + 1
    keepFor(x.key, lease)
  end
  for _, g in ipairs(bg) do
    redis.call("HINCRBY", g.key, "rt", s(g.t))
    redis.call("HINCRBY", g.key, "rc", s(g.c))
    redis.call("HSET", g.holds, id, s(g.t) .. " " .. s(g.c))
    redis.call("ZADD", g.exp, s(now + ttl), id)
    g.rt, g.rc = g.rt + g.t, g.rc + g.c
    keepFor(g.key, g.ttl)
    keepFor(g.holds, g.ttl)
    keepFor(g.exp, g.ttl)
  end
  redis.call("SET", KEYS[1], ARGV[3], "PX", s(ttl))
end
local out = { b(admitted), b(duplicate) }
for _, x in ipairs(bk) do
  table.insert(out, b(x.ok))
  table.insert(out, x.units)
end
for _, x in ipairs(sl) do
  local oldest = redis.call("ZRANGE", x.key, 0, 0, "WITHSCORES")
  table.insert(out, b(x.ok))
  table.insert(out, x.n)
  table.insert(out, num(oldest[2]))
end
for _, g in ipairs(bg) do
  for _, v in ipairs({ b(g.ok), b(g.seeded), g.ut, g.rt, g.uc, g.rc }) do table.insert(out, v) end
end
return out
`;

/**
 * KEYS: record, nb bucket keys, ns slot keys, ng × (budget, budget:holds, budget:exp).
 * ARGV: now, id, nb, ns, ng, nb × (perMinute, refund), ng × (tokens, cost, ttl).
 * Returns -1 (unknown) or 0 (already settled), or 1, ns × inUse, ng × (ut, rt, uc, rc).
 */
const settleLua = `${luaHelpers}
local now, id = tonumber(ARGV[1]), ARGV[2]
local nb, ns, ng = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local record = redis.call("GET", KEYS[1])
if not record then return { -1 } end
if record == "${settledMark}" then return { 0 } end
local left = redis.call("PTTL", KEYS[1])
if left < 0 or left > ${settledMarkTtlMs} then left = ${settledMarkTtlMs} end
redis.call("SET", KEYS[1], "${settledMark}", "PX", left)
local out = { 1 }
local a, k = 6, 2
for i = 1, nb do
  local per, refund = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local units = math.min(per * U, refill(KEYS[k], per, now) + refund * U)
  storeBucket(KEYS[k], per, units, now)
  a, k = a + 2, k + 1
end
for i = 1, ns do
  redis.call("ZREM", KEYS[k], id)
  table.insert(out, redis.call("ZCARD", KEYS[k]))
  k = k + 1
end
for i = 1, ng do
  local key, holds, exp = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local t, c, ttl = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  releaseHold(key, holds, exp, id)
  redis.call("HINCRBY", key, "ut", s(t))
  redis.call("HINCRBY", key, "uc", s(c))
  keepFor(key, ttl)
  local ut, rt, uc, rc = budgetLevel(key)
  for _, v in ipairs({ ut, rt, uc, rc }) do table.insert(out, v) end
  a, k = a + 3, k + 3
end
return out
`;

/**
 * KEYS: ng budget keys. ARGV: ng × (usedTokens, usedCost, ttl).
 * Marks each budget seeded, adding its usage so far if the store held nothing for it; a budget
 * seeded already is left alone.
 */
const seedLua = `${luaHelpers}
for i = 1, #KEYS do
  local key, a = KEYS[i], (i - 1) * 3
  if redis.call("HEXISTS", key, "s") == 0 then
    -- Counters without the mark predate seeding: they are the period's usage already.
    if redis.call("EXISTS", key) == 0 then
      redis.call("HINCRBY", key, "ut", s(tonumber(ARGV[a + 1])))
      redis.call("HINCRBY", key, "uc", s(tonumber(ARGV[a + 2])))
    end
    redis.call("HSET", key, "s", "1")
    keepFor(key, tonumber(ARGV[a + 3]))
  end
end
return 1
`;

interface LimitCommands {
  strataAdmit(numKeys: number, ...keysAndArgs: Array<string | number>): Promise<number[]>;
  strataSettle(numKeys: number, ...keysAndArgs: Array<string | number>): Promise<number[]>;
  strataSeed(numKeys: number, ...keysAndArgs: Array<string | number>): Promise<number>;
}

const budgetKeys = (key: string) => [key, `${key}:holds`, `${key}:exp`];

/** Reads a flat reply in order. */
function reader(reply: number[]) {
  let i = 0;
  return () => Number(reply[i++] ?? 0);
}

/**
 * The limit store of several replicas: one Redis (ElastiCache/Valkey in AWS) shared by all, each
 * admission and settlement one Lua script (ioredis `defineCommand`: EVALSHA, reloaded after a
 * Redis restart), so a plan is atomic however many replicas race.
 *
 * Built not to wait on a sick Redis: commands time out after `commandTimeoutMs`, are never queued
 * while disconnected (`enableOfflineQueue: false`) nor retried (`maxRetriesPerRequest: 0`); the
 * client reconnects in the background. Keys follow `strata:{tenant}:…` (one Cluster slot per
 * tenant); this store talks to one endpoint (a primary, or a proxy in front of a cluster).
 */
export function createRedisLimitStore(options: RedisLimitStoreOptions): RedisLimitStore {
  const { logger } = options;
  const redis = new Redis(options.url, {
    commandTimeout: options.commandTimeoutMs ?? 200,
    connectTimeout: options.connectTimeoutMs ?? 1_000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    connectionName: "strata-metering",
  }) as Redis & LimitCommands;
  redis.defineCommand("strataAdmit", { lua: admitLua });
  redis.defineCommand("strataSettle", { lua: settleLua });
  redis.defineCommand("strataSeed", { lua: seedLua });

  // Log transitions, not every failed reconnect.
  let up = false;
  redis.on("ready", () => {
    up = true;
    logger.info("limits store: connected to redis");
  });
  redis.on("error", (err: Error) => {
    if (up) logger.warn({ err }, "limits store: redis error");
  });
  redis.on("close", () => {
    if (up) logger.warn("limits store: redis connection lost; reconnecting");
    up = false;
  });

  return {
    async admit(plan: AdmitPlan): Promise<AdmitOutcome> {
      const keys = [
        plan.recordKey,
        ...plan.buckets.map((x) => x.key),
        ...plan.slots.map((x) => x.key),
        ...plan.budgets.flatMap((x) => budgetKeys(x.key)),
      ];
      const args = [
        plan.nowMs,
        plan.reservationId,
        plan.record,
        plan.recordTtlMs,
        plan.leaseMs,
        plan.buckets.length,
        plan.slots.length,
        plan.budgets.length,
        ...plan.buckets.flatMap((x) => [x.perMinute, x.cost]),
        ...plan.slots.map((x) => x.limit),
        ...plan.budgets.flatMap((x) => [x.tokenLimit, x.costLimit, x.tokens, x.cost, x.ttlMs]),
      ];
      const next = reader(await redis.strataAdmit(keys.length, ...keys, ...args));
      const admitted = next() === 1;
      const duplicate = next() === 1;
      return {
        admitted,
        duplicate,
        buckets: plan.buckets.map(() => ({ ok: next() === 1, units: next() })),
        slots: plan.slots.map(() => ({
          ok: next() === 1,
          inUse: next(),
          oldestLeaseEndMs: next(),
        })),
        budgets: plan.budgets.map(() => ({
          ok: next() === 1,
          seeded: next() === 1,
          usedTokens: next(),
          reservedTokens: next(),
          usedCost: next(),
          reservedCost: next(),
        })),
      };
    },

    async reservation(recordKey: string): Promise<ReservationLookup> {
      const value = await redis.get(recordKey);
      if (value === null) return undefined;
      return value === settledMark ? { state: "settled" } : { state: "pending", record: value };
    },

    async settle(plan: SettlePlan): Promise<SettleOutcome> {
      const keys = [
        plan.recordKey,
        ...plan.buckets.map((x) => x.key),
        ...plan.slots,
        ...plan.budgets.flatMap((x) => budgetKeys(x.key)),
      ];
      const args = [
        plan.nowMs,
        plan.reservationId,
        plan.buckets.length,
        plan.slots.length,
        plan.budgets.length,
        ...plan.buckets.flatMap((x) => [x.perMinute, x.refund]),
        ...plan.budgets.flatMap((x) => [x.tokens, x.cost, x.ttlMs]),
      ];
      const next = reader(await redis.strataSettle(keys.length, ...keys, ...args));
      if (next() !== 1) return { applied: false, slots: [], budgets: [] };
      const slots = plan.slots.map(() => next());
      const budgets = plan.budgets.map(
        (): BudgetLevel => ({
          usedTokens: next(),
          reservedTokens: next(),
          usedCost: next(),
          reservedCost: next(),
        }),
      );
      return { applied: true, slots, budgets };
    },

    async seedBudgets(seeds: BudgetSeed[]) {
      if (seeds.length === 0) return;
      await redis.strataSeed(
        seeds.length,
        ...seeds.map((x) => x.key),
        ...seeds.flatMap((x) => [x.usedTokens, x.usedCost, x.ttlMs]),
      );
    },

    ready(timeoutMs) {
      if (redis.status === "ready") return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          redis.off("ready", onReady);
          resolve(false);
        }, timeoutMs);
        const onReady = () => {
          clearTimeout(timer);
          resolve(true);
        };
        redis.once("ready", onReady);
      });
    },

    async close() {
      up = false;
      // QUIT lets pending replies arrive; a Redis that is not there gets no goodbye.
      if (redis.status === "ready") await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}
