import { dynamoEnv } from "@strata/dynamodb";
import { commonEnv, type Env, parseEnv, port, positiveInt } from "@strata/platform";
import { z } from "zod";

const schema = z
  .object({
    ...commonEnv,
    STRATA_PORT: port(50054),
    ...dynamoEnv,

    /** How often buffered usage records are written to the ledger. */
    STRATA_LEDGER_FLUSH_MS: positiveInt(1_000),
    /** Most records held while DynamoDB is unreachable; beyond, records are dropped and counted. */
    STRATA_LEDGER_BUFFER_MAX: positiveInt(100_000),
    /**
     * Longest wait for one ledger batch write (SDK retries included); past it the batch stays
     * buffered for the next flush and counts in strata_metering_ledger_write_failures_total.
     */
    STRATA_LEDGER_WRITE_TIMEOUT_MS: positiveInt(5_000),

    /**
     * Where rate limits, concurrency slots, budgets and reservations live: `memory` (one replica)
     * or `redis` (shared by every replica; needs STRATA_REDIS_URL).
     */
    STRATA_LIMITS_STORE: z.enum(["memory", "redis"]).default("memory"),
    /** `redis://host:6379` or `rediss://…` (TLS), with credentials in the URL if any. */
    STRATA_REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
      .optional(),
    /** Longest wait for one Redis command before the fail mode decides. */
    STRATA_REDIS_TIMEOUT_MS: positiveInt(200),
    /**
     * When the limit store cannot be reached: `open` admits (counted in
     * strata_metering_fail_open_admissions_total), `closed` refuses with 503 and retry-after.
     */
    STRATA_LIMITS_FAIL_MODE: z.enum(["open", "closed"]).default("open"),
    /** How long a concurrency slot stays held when its request never settles (crash). */
    STRATA_LIMITS_LEASE_MS: positiveInt(10 * 60_000),
    /** How long a reservation waits for its settlement; later ones no longer correct limits. */
    STRATA_RESERVATION_TTL_MS: positiveInt(60 * 60_000),
  })
  .refine((env) => env.STRATA_LIMITS_STORE !== "redis" || env.STRATA_REDIS_URL, {
    message: "is required when STRATA_LIMITS_STORE=redis",
    path: ["STRATA_REDIS_URL"],
  });

/** The metering service's configuration, parsed once from the environment. */
export type MeteringConfig = Readonly<z.infer<typeof schema>>;

export function loadMeteringConfig(env: Env): MeteringConfig {
  return parseEnv(schema, env, { secrets: ["STRATA_REDIS_URL"] });
}
