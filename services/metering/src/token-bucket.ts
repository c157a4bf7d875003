/**
 * Token-bucket arithmetic shared by the limit stores and the limiter.
 *
 * A per-minute limit L is a bucket of capacity L that refills continuously at L per minute
 * (OpenAI's rate limits behave the same way: "60 RPM" admits about one request a second once the
 * burst is spent). Levels are kept in integer units of 1/60,000 token, so one millisecond of
 * refill adds exactly L units and every quantity is an integer: the in-memory store and the Redis
 * Lua scripts compute the same numbers, exactly, without floating-point drift. The largest level
 * (2^32 tokens × 60,000) stays far below 2^53.
 */

/** Units per token: one millisecond of a per-minute limit L refills L units. */
export const unitsPerToken = 60_000;

/** A bucket's stored state: its level in units (may be negative after an overrun) and when. */
export interface BucketState {
  units: number;
  atMs: number;
}

/** The level of a bucket of `perMinute` at `nowMs`: a missing bucket is full. */
export function bucketLevel(state: BucketState | undefined, perMinute: number, nowMs: number) {
  const capacity = perMinute * unitsPerToken;
  if (!state) return capacity;
  const elapsed = Math.max(0, nowMs - state.atMs);
  return Math.min(capacity, state.units + elapsed * perMinute);
}

/** What a bucket shows a client: OpenAI's x-ratelimit-limit/remaining/reset. */
export interface BucketView {
  limit: number;
  /** Whole tokens (or requests) available now. */
  remaining: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
}

/** The headers' view of a bucket at `units`. */
export function bucketView(units: number, perMinute: number): BucketView {
  const capacity = perMinute * unitsPerToken;
  return {
    limit: perMinute,
    remaining: Math.max(0, Math.floor(units / unitsPerToken)),
    resetMs: Math.max(0, Math.ceil((capacity - units) / perMinute)),
  };
}

/** How much of the limit is in use: what OpenAI's messages call "Used". */
export function bucketUsed(units: number, perMinute: number): number {
  return Math.max(0, Math.ceil((perMinute * unitsPerToken - units) / unitsPerToken));
}

/**
 * Milliseconds until a bucket at `units` holds `cost`: the retry-after of a refusal. Infinity when
 * the cost is larger than the whole bucket (the request can never pass as it is).
 */
export function bucketWaitMs(units: number, cost: number, perMinute: number): number {
  if (cost > perMinute) return Number.POSITIVE_INFINITY;
  return Math.max(0, Math.ceil((cost * unitsPerToken - units) / perMinute));
}

/**
 * How long a stored bucket must be kept: until it is full again (a missing bucket is full), plus
 * a minute of slack so clocks a little apart never see a bucket vanish early.
 */
export function bucketTtlMs(units: number, perMinute: number): number {
  return Math.ceil((perMinute * unitsPerToken - units) / perMinute) + 60_000;
}
