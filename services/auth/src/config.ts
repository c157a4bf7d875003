import { dynamoEnv } from "@strata/dynamodb";
import { commonEnv, type Env, parseEnv, port, positiveInt, serviceUrl } from "@strata/platform";
import { z } from "zod";

const schema = z.object({
  ...commonEnv,
  /** Data plane (VerifyKey) gRPC port. */
  STRATA_PORT: port(50051),
  /** Admin plane gRPC port: never exposed through the gateway. */
  STRATA_ADMIN_PORT: port(50052),
  ...dynamoEnv,

  /**
   * Bootstrap (break-glass) admin tokens: comma-separated hex SHA-256 hashes, each optionally
   * followed by `:<unix seconds>` after which it stops working. Day-to-day admin tokens are issued
   * by the admin API instead (hashed, time-bound, optionally scoped to a tenant).
   */
  STRATA_ADMIN_TOKEN_SHA256: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .string()
          .regex(/^[0-9a-f]{64}(:\d+)?$/, "must be hex SHA-256 hashes, optionally :<unix seconds>"),
      ),
    )
    .transform((entries) =>
      entries.map((entry) => {
        const [sha256 = "", expires] = entry.split(":");
        return { sha256, expiresAtMs: expires ? Number(expires) * 1000 : undefined };
      }),
    ),
  /** Optional server-side pepper for key hashes (from a Secret). Changing it invalidates keys. */
  STRATA_KEY_PEPPER: z.string().min(16).optional(),
  /** Maximum and default lifetime of a key. */
  STRATA_KEY_MAX_AGE_DAYS: positiveInt(90),
  /** How long a rotated key keeps working by default. */
  STRATA_KEY_ROTATION_OVERLAP_DAYS: positiveInt(14),
  /** Keys expiring within this many days are flagged and counted in strata_auth_keys_expiring_soon. */
  STRATA_KEY_EXPIRY_WARNING_DAYS: positiveInt(14),
  /** Default and maximum lifetime of admin tokens issued by the admin API. */
  STRATA_ADMIN_TOKEN_TTL_HOURS: positiveInt(24),
  STRATA_ADMIN_TOKEN_MAX_TTL_HOURS: positiveInt(24 * 30),
  /** How often keys are scanned for strata_auth_keys_expiring_soon. */
  STRATA_KEY_EXPIRY_SCAN_MS: positiveInt(60_000),
  /** How often the shared change feed is read: the bound on revocation propagation. */

  STRATA_CHANGE_FEED_POLL_MS: positiveInt(250),
  /** Metering, for usage reports on the admin plane (`strata usage`); unset: not available. */
  STRATA_METERING_URL: serviceUrl.optional(),
  /** How long gateways may cache a successful verification. */
  STRATA_VERIFY_CACHE_TTL_MS: positiveInt(10_000),
});

/** The auth service's configuration, parsed once from the environment. */
export type AuthConfig = Readonly<z.infer<typeof schema>>;

export function loadAuthConfig(env: Env): AuthConfig {
  return parseEnv(schema, env, { secrets: ["STRATA_ADMIN_TOKEN_SHA256", "STRATA_KEY_PEPPER"] });
}
