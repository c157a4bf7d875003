import { create } from "@bufbuild/protobuf";
import { UsageSummarySchema } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { totalCostMicros, totalTokens, usagePeriod } from "./usage.ts";

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

  it("sums the cost of every key and model in micro-units, as an integer", () => {
    const s = (costMicros: number) => create(UsageSummarySchema, { costMicros });
    // $12.345678 + $0.000028 + usage recorded before the ledger kept cost.
    expect(totalCostMicros([s(12_345_678), s(28), s(0)])).toBe(12_345_706);
    expect(Number.isInteger(totalCostMicros([s(0.1), s(0.2)]))).toBe(true);
    expect(totalCostMicros([])).toBe(0);
  });
});
