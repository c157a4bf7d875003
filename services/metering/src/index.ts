// What other Strata packages and test tiers may use of metering, besides running it (main.ts):
// the limiter and its stores, and the server factory, to run metering against real Redis.

export type { UsageLedger } from "./ledger.ts";
export type { LimitStore } from "./limit-store.ts";
export { settledMarkTtlMs } from "./limit-store.ts";
export {
  createLimiter,
  type FailMode,
  type Limiter,
  type LimiterOptions,
} from "./limiter.ts";
export {
  createRedisLimitStore,
  type RedisLimitStore,
  type RedisLimitStoreOptions,
} from "./redis-limit-store.ts";
export { createMeteringServer, type MeteringServer, type MeteringServerDeps } from "./server.ts";
