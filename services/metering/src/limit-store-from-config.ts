import type { Logger } from "@strata/platform";
import type { MeteringConfig } from "./config.ts";
import type { LimitStore } from "./limit-store.ts";
import { createMemoryLimitStore } from "./memory-limit-store.ts";
import { createRedisLimitStore } from "./redis-limit-store.ts";

/**
 * The limit store the configuration asks for. A Redis store waits briefly for its first
 * connection; if Redis is not there yet the service starts anyway (the fail mode applies until it
 * is) rather than crash-looping on a dependency it can run without.
 */
export async function limitStoreFromConfig(
  config: MeteringConfig,
  logger: Logger,
): Promise<LimitStore> {
  if (config.STRATA_LIMITS_STORE === "memory" || !config.STRATA_REDIS_URL) {
    return createMemoryLimitStore();
  }
  const store = createRedisLimitStore({
    url: config.STRATA_REDIS_URL,
    logger,
    commandTimeoutMs: config.STRATA_REDIS_TIMEOUT_MS,
  });
  if (!(await store.ready(5_000))) {
    logger.warn(
      { failMode: config.STRATA_LIMITS_FAIL_MODE },
      "limits store: redis not reachable at startup; starting anyway",
    );
  }
  return store;
}
