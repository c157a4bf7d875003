import type { ApiKeySpec } from "./resources.ts";

/** The default rotation overlap: 14 days, or half the period when that is shorter. */
export const defaultOverlapDays = 14;

/** A key's lifetime as auth reports it (Unix milliseconds; expiresAtMs 0: never expires). */
export interface KeyTimes {
  createdAtMs: number;
  expiresAtMs: number;
}

/**
 * How long the previous key keeps working after a rotation: `rotation.overlapDays` when given
 * (0 is allowed: the old key stops at once), otherwise 14 days or half the period, whichever is
 * shorter. The CRD no longer defaults it because a 14-day default made weekly rotation invalid.
 * `dayMs` is the length of a day (shortened only by the test-only STRATA_ROTATION_DAY_SECONDS).
 */
export function overlapMs(spec: Pick<ApiKeySpec, "rotation">, dayMs: number): number {
  const rotation = spec.rotation;
  if (!rotation) return defaultOverlapDays * dayMs;
  if (rotation.overlapDays !== undefined) return rotation.overlapDays * dayMs;
  return Math.min(defaultOverlapDays * dayMs, Math.floor((rotation.periodDays * dayMs) / 2));
}

/**
 * When the current key must be replaced: every `rotation.periodDays` after it was issued, and in
 * any case before it expires — early enough for the overlap to run out before the expiry, but never
 * before half its life (a 7-day key with a 14-day overlap rotates at 3.5 days, not at once).
 * Undefined when the key neither rotates nor expires.
 */
export function nextRotationAt(
  spec: Pick<ApiKeySpec, "rotation">,
  key: KeyTimes,
  dayMs: number,
): number | undefined {
  const candidates: number[] = [];
  if (spec.rotation) candidates.push(key.createdAtMs + spec.rotation.periodDays * dayMs);
  if (key.expiresAtMs > 0) {
    const life = key.expiresAtMs - key.createdAtMs;
    candidates.push(key.expiresAtMs - Math.min(overlapMs(spec, dayMs), Math.floor(life / 2)));
  }
  return candidates.length > 0 ? Math.min(...candidates) : undefined;
}

/** The lifetime to ask auth for, in seconds: `expiresAfterDays`, or 0 for auth's maximum age. */
export function keyTtlSeconds(spec: Pick<ApiKeySpec, "expiresAfterDays">, dayMs: number): number {
  return spec.expiresAfterDays ? Math.round((spec.expiresAfterDays * dayMs) / 1000) : 0;
}

/**
 * The overlap to send with RotateKey, in whole seconds. RotateKey reads 0 as "auth's default
 * (14 days)", so a zero overlap is sent as 1 second: the old key stops practically at once.
 */
export function rotateOverlapSeconds(overlap: number): number {
  return Math.max(1, Math.round(overlap / 1000));
}
