import { describe, expect, it } from "vitest";
import { rotationOverlapMs, successorLifetimeMs } from "./admin.ts";

const day = 86_400_000;

describe("rotationOverlapMs", () => {
  it.each([
    ["the default when none is asked for", { overlapSeconds: 0, noOverlap: false }, 14 * day],
    ["the asked overlap", { overlapSeconds: 3_600, noOverlap: false }, 3_600_000],
    ["none with no_overlap", { overlapSeconds: 0, noOverlap: true }, 0],
  ])("gives %s", (_, req, expected) => {
    expect(rotationOverlapMs(req, 14 * day)).toBe(expected);
  });
});

describe("successorLifetimeMs", () => {
  const created = "2026-01-01T00:00:00.000Z";
  const old = { createdAt: created, expiresAtMs: Date.parse(created) + 30 * day };
  it.each([
    ["the old key's lifetime", { ttlSeconds: 0 }, old, 30 * day],
    ["the asked lifetime", { ttlSeconds: 86_400 }, old, day],
    [
      "at most the maximum age",
      { ttlSeconds: 0 },
      { createdAt: created, expiresAtMs: Date.parse(created) + 400 * day },
      90 * day,
    ],
    [
      "the maximum age for a record without a creation time",
      { ttlSeconds: 0 },
      { createdAt: "", expiresAtMs: 1 },
      90 * day,
    ],
  ])("gives %s", (_, req, key, expected) => {
    expect(successorLifetimeMs(req, key, 90 * day)).toBe(expected);
  });
});
