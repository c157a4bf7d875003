import { create } from "@bufbuild/protobuf";
import { UsageSummarySchema } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { totalTokens, usagePeriod } from "./usage.ts";

describe("tenant usage summary", () => {
  const now = new Date("2026-08-16T23:59:59Z");

  it("sums a month from its first day to today (UTC), also without a budget period", () => {
    expect(usagePeriod(now, "Month")).toEqual({
      label: "2026-08",
      sinceDay: "2026-08-01",
      untilDay: "2026-08-16",
    });
    expect(usagePeriod(now, undefined)).toEqual(usagePeriod(now, "Month"));
  });

  it("sums only today for a daily budget", () => {
    expect(usagePeriod(now, "Day")).toEqual({
      label: "2026-08-16",
      sinceDay: "2026-08-16",
      untilDay: "2026-08-16",
    });
  });

  it("counts prompt and completion tokens of every key and model", () => {
    const s = (inputTokens: number, outputTokens: number, cacheReadInputTokens = 0) =>
      create(UsageSummarySchema, { inputTokens, outputTokens, cacheReadInputTokens });
    expect(totalTokens([s(10, 5), s(100, 50, 7)])).toBe(165);
    expect(totalTokens([])).toBe(0);
  });
});
