import { describe, expect, it } from "vitest";
import { keyTtlSeconds, nextRotationAt, overlapMs, rotateOverlapSeconds } from "./rotation.ts";

const day = 86_400_000;
const created = Date.UTC(2026, 0, 1);

describe("rotation timing", () => {
  it.each([
    [{ periodDays: 30 }, 14 * day, "14 days when the period is long"],
    [{ periodDays: 7 }, 3.5 * day, "half a weekly period"],
    [{ periodDays: 1 }, 0.5 * day, "half a daily period"],
    [{ periodDays: 30, overlapDays: 2 }, 2 * day, "the overlap asked for"],
    [{ periodDays: 30, overlapDays: 0 }, 0, "no overlap when asked for none"],
    [undefined, 14 * day, "14 days without rotation (renewal before expiry)"],
  ])("overlap of %j is %d ms: %s", (rotation, expected, _why) => {
    expect(overlapMs({ rotation }, day)).toBe(expected);
  });

  it("rotates every period after the key was issued", () => {
    expect(
      nextRotationAt(
        { rotation: { periodDays: 30 } },
        { createdAtMs: created, expiresAtMs: created + 90 * day },
        day,
      ),
    ).toBe(created + 30 * day);
  });

  it("renews a key before it expires even without a rotation period, leaving the overlap", () => {
    expect(nextRotationAt({}, { createdAtMs: created, expiresAtMs: created + 90 * day }, day)).toBe(
      created + 76 * day,
    );
  });

  it("rotates before expiry when the lifetime is shorter than the period", () => {
    // 20-day keys rotating monthly with a 14-day overlap: replaced at day 10 (half its life).
    expect(
      nextRotationAt(
        { rotation: { periodDays: 30 } },
        { createdAtMs: created, expiresAtMs: created + 20 * day },
        day,
      ),
    ).toBe(created + 10 * day);
    // with a 2-day overlap: at day 18, so the old key still works 2 days after.
    expect(
      nextRotationAt(
        { rotation: { periodDays: 30, overlapDays: 2 } },
        { createdAtMs: created, expiresAtMs: created + 20 * day },
        day,
      ),
    ).toBe(created + 18 * day);
  });

  it("never rotates a key that neither rotates nor expires", () => {
    expect(nextRotationAt({}, { createdAtMs: created, expiresAtMs: 0 }, day)).toBeUndefined();
  });

  it("scales with the length of a day (the test-only override)", () => {
    const shortDay = 2_000;
    expect(
      nextRotationAt(
        { rotation: { periodDays: 3, overlapDays: 2 } },
        { createdAtMs: 0, expiresAtMs: 0 },
        shortDay,
      ),
    ).toBe(6_000);
    expect(keyTtlSeconds({ expiresAfterDays: 5 }, shortDay)).toBe(10);
  });

  it("asks auth for expiresAfterDays, or its maximum age when unset", () => {
    expect(keyTtlSeconds({ expiresAfterDays: 30 }, day)).toBe(30 * 86_400);
    expect(keyTtlSeconds({}, day)).toBe(0);
  });

  it("sends a zero overlap as one second, since RotateKey reads 0 as its 14-day default", () => {
    expect(rotateOverlapSeconds(0)).toBe(1);
    expect(rotateOverlapSeconds(14 * day)).toBe(14 * 86_400);
    expect(rotateOverlapSeconds(1_400)).toBe(1);
  });
});
