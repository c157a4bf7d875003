import { readFileSync } from "node:fs";
import { z } from "zod";

/** The environment a service is configured from; only config modules read it. */
export type Env = Readonly<Record<string, string | undefined>>;

export interface ParseEnvOptions {
  /**
   * Secret variables that may instead be given as a file: `NAME_FILE=/path` (a mounted Secret),
   * so the value never sits in the process environment. Trailing newlines are dropped; a file
   * that does not exist means "unset" (an optional key of a Secret volume is simply absent).
   */
  readonly secrets?: readonly string[];
}

/** The environment with each secret's `NAME_FILE` read into `NAME`. */
function withSecretFiles(env: Env, secrets: readonly string[]): Env {
  const resolved: Record<string, string | undefined> = { ...env };
  for (const name of secrets) {
    const path = env[`${name}_FILE`];
    if (!path) continue;
    if (env[name] !== undefined) {
      throw new Error(`invalid configuration:\n  ${name}: set either ${name} or ${name}_FILE`);
    }
    try {
      resolved[name] = readFileSync(path, "utf8").replace(/\r?\n$/, "");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new Error(
        `invalid configuration:\n  ${name}_FILE: cannot read ${path} (${(error as Error).message})`,
      );
    }
  }
  return resolved;
}

/**
 * Parses a service's environment with a zod schema, once, and freezes the result. Every invalid
 * variable is reported at once, by name, so a misconfigured pod fails fast with a useful message.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Env,
  options: ParseEnvOptions = {},
): Readonly<z.infer<S>> {
  const result = schema.safeParse(withSecretFiles(env, options.secrets ?? []));
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join(".") || "(environment)";
      return `${name}: ${issue.message}`;
    });
    throw new Error(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  return Object.freeze(result.data);
}

/** A TCP port; 0 lets the OS pick one (tests). */
export const port = (fallback: number) =>
  z.coerce.number().int().min(0).max(65535).default(fallback);

/** A positive duration or size in the variable's unit. */
export const positiveInt = (fallback: number) =>
  z.coerce.number().int().positive().default(fallback);

/** `true`/`false`/`1`/`0`. */
export const flag = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0"])
    .default(fallback ? "true" : "false")
    .transform((v) => v === "true" || v === "1");

export const logLevel = z
  .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
  .default("info");

/** `http://host:port` of a peer service. */
export const serviceUrl = z.url({ protocol: /^https?$/ });

/** Settings every Strata service shares (STRATA_HOST, STRATA_LOG_LEVEL, ...). */
export const commonEnv = {
  STRATA_HOST: z.string().min(1).default("127.0.0.1"),
  STRATA_METRICS_PORT: port(0),
  STRATA_LOG_LEVEL: logLevel,
  /** How long in-flight work may take to finish after SIGTERM. */
  STRATA_SHUTDOWN_GRACE_MS: positiveInt(25_000),
  /** How long readiness reports "not ready" before servers stop accepting (endpoint propagation). */
  STRATA_SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).default(0),
  /**
   * OTLP/HTTP traces endpoint spans are exported to (JSON), e.g.
   * `http://otel-collector:4318/v1/traces`. Unset: tracing is off and costs nothing.
   */
  STRATA_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  /** How long finished spans are batched before export. */
  STRATA_OTLP_EXPORT_DELAY_MS: positiveInt(5_000),
};
