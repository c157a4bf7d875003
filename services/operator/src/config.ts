import { hostname } from "node:os";
import { commonEnv, type Env, parseEnv, positiveInt, serviceUrl } from "@strata/platform";
import { z } from "zod";

const schema = z
  .object({
    ...commonEnv,
    /** `http://host:port` of auth's admin plane (AuthAdminService). */
    STRATA_ADMIN_URL: serviceUrl,
    /**
     * A global admin token for auth (it creates and suspends tenants). Give it as a file,
     * `STRATA_ADMIN_TOKEN_FILE` (a mounted Secret), so it never sits in the environment.
     */
    STRATA_ADMIN_TOKEN: z.string().min(1, "is required (or STRATA_ADMIN_TOKEN_FILE)"),
    /**
     * Namespaces whose ApiKeys are reconciled and that receive Secrets, comma-separated; empty:
     * every namespace. Must match the chart's `operator.watchNamespaces` (the RBAC follows it).
     */
    STRATA_WATCH_NAMESPACES: z
      .string()
      .default("")
      .transform((v) =>
        v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(
        z.array(
          z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be namespace names"),
        ),
      ),
    /** The Lease that elects one active replica, and its namespace (the release namespace). */
    STRATA_LEASE_NAMESPACE: z.string().min(1).default("default"),
    STRATA_LEASE_NAME: z.string().min(1).default("strata-operator"),
    /**
     * This replica's identity in the Lease: the pod name (downward API `POD_NAME`), or
     * `<hostname>-<pid>` outside a pod.
     */
    POD_NAME: z.string().min(1).optional(),
    /** How long a Lease is valid without renewal: a dead leader is replaced after this. */
    STRATA_LEASE_DURATION_MS: positiveInt(15_000),
    /** A leader that could not renew for this long stops reconciling (shorter than the duration). */
    STRATA_LEASE_RENEW_DEADLINE_MS: positiveInt(10_000),
    /** How often the Lease is renewed, or tried by a standby. */
    STRATA_LEASE_RETRY_PERIOD_MS: positiveInt(2_000),
    /** Every object is reconciled at least this often (catches drift on auth's side). */
    STRATA_RESYNC_MS: positiveInt(60_000),
    /** How often a Tenant's usage summary in its status is refreshed from auth. */
    STRATA_USAGE_REFRESH_MS: positiveInt(300_000),
    /** Concurrent reconciles. */
    STRATA_WORKERS: positiveInt(4),
    /** Retry backoff of a failed reconcile: first delay, doubled per failure up to the maximum. */
    STRATA_RETRY_BASE_MS: positiveInt(500),
    STRATA_RETRY_MAX_MS: positiveInt(300_000),
    /** Deadline of each call to auth's admin API. */
    STRATA_ADMIN_TIMEOUT_MS: positiveInt(10_000),
    /**
     * The OpenAI base URL clients should use (e.g. `https://strata.example.com/v1`), written into
     * each key's Secret as `base-url`. Empty: not written.
     */
    STRATA_GATEWAY_BASE_URL: z.union([z.literal(""), z.url({ protocol: /^https?$/ })]).default(""),
    /**
     * TEST ONLY: the length of a "day" in ApiKey rotation and lifetime fields, in seconds, so a
     * system test can watch weeks of rotation in seconds. Never set it in production.
     */
    STRATA_ROTATION_DAY_SECONDS: positiveInt(86_400),
  })
  .refine((c) => c.STRATA_LEASE_RENEW_DEADLINE_MS < c.STRATA_LEASE_DURATION_MS, {
    path: ["STRATA_LEASE_RENEW_DEADLINE_MS"],
    message: "must be shorter than STRATA_LEASE_DURATION_MS",
  })
  .refine((c) => c.STRATA_LEASE_RETRY_PERIOD_MS < c.STRATA_LEASE_RENEW_DEADLINE_MS, {
    path: ["STRATA_LEASE_RETRY_PERIOD_MS"],
    message: "must be shorter than STRATA_LEASE_RENEW_DEADLINE_MS",
  });

/** The operator's configuration, parsed once from the environment. */
export type OperatorConfig = z.infer<typeof schema> & { readonly identity: string };

export function loadOperatorConfig(env: Env): Readonly<OperatorConfig> {
  const parsed = parseEnv(schema, env, { secrets: ["STRATA_ADMIN_TOKEN"] });
  return Object.freeze({
    ...parsed,
    identity: parsed.POD_NAME ?? `${hostname()}-${process.pid}`,
  });
}
