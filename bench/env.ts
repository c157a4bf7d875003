// The benchmark's and the soak's knobs come from the environment (BENCH_*, SOAK_*), read here.

/** A positive number from the environment variable `name`, or `fallback` when it is unset. */
export function positiveFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

/** A comma-separated list from the environment variable `name`, or `fallback` when it is unset. */
export function listFromEnv(name: string, fallback: string): string[] {
  return (process.env[name] ?? fallback)
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}
