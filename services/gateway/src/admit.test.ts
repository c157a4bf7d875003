import { describe, expect, it } from "vitest";
import { goDuration } from "./admit.ts";

describe("rate-limit header durations", () => {
  it.each([
    [0, "0ms"],
    [12, "12ms"],
    [999, "999ms"],
    [1000, "1s"],
    [1500, "1.5s"],
    [59_999, "59.999s"],
    [60_000, "1m0s"],
    [360_000, "6m0s"],
    [61_500, "1m1.5s"],
  ])("writes %i ms as %s", (ms, expected) => {
    expect(goDuration(ms)).toBe(expected);
  });
});
