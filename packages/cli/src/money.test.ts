import { describe, expect, it } from "vitest";
import { formatMicros } from "./money.ts";

describe("formatMicros", () => {
  it.each([
    ["nothing", 0, "$0.000000"],
    ["one request's fraction of a cent", 28, "$0.000028"],
    ["dollars and micros", 12_345_678, "$12.345678"],
    ["thousands with separators", 1_234_567_890_123, "$1,234,567.890123"],
    ["the largest amount a double holds exactly", 9_007_199_254_740_991, "$9,007,199,254.740991"],
    ["a negative amount", -1_500_000, "-$1.500000"],
  ])("writes %s", (_, micros, text) => {
    expect(formatMicros(micros)).toBe(text);
  });
});
