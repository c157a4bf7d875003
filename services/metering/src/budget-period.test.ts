import { BudgetPeriod } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { periodWindow } from "./budget-period.ts";

describe("periodWindow", () => {
  it.each([
    [
      "a day ends at the next UTC midnight",
      BudgetPeriod.DAY,
      "2026-11-23T23:59:59.999Z",
      "d2026-11-23",
      "2026-11-24T00:00:00.000Z",
    ],
    [
      "midnight starts the next day",
      BudgetPeriod.DAY,
      "2026-11-24T00:00:00.000Z",
      "d2026-11-24",
      "2026-11-25T00:00:00.000Z",
    ],
    [
      "the last day of a year ends at New Year",
      BudgetPeriod.DAY,
      "2026-12-31T12:00:00.000Z",
      "d2026-12-31",
      "2027-01-01T00:00:00.000Z",
    ],
    [
      "a month ends on the first of the next",
      BudgetPeriod.MONTH,
      "2027-01-31T23:00:00.000Z",
      "m2027-01",
      "2027-02-01T00:00:00.000Z",
    ],
    [
      "February of a leap year has 29 days",
      BudgetPeriod.MONTH,
      "2028-02-29T10:00:00.000Z",
      "m2028-02",
      "2028-03-01T00:00:00.000Z",
    ],
    [
      "December rolls into January",
      BudgetPeriod.MONTH,
      "2026-12-15T00:00:00.000Z",
      "m2026-12",
      "2027-01-01T00:00:00.000Z",
    ],
    [
      "a budget without a period is monthly",
      BudgetPeriod.UNSPECIFIED,
      "2026-11-23T10:00:00.000Z",
      "m2026-11",
      "2026-12-01T00:00:00.000Z",
    ],
  ])("%s", (_, period, now, id, end) => {
    const window = periodWindow(period, Date.parse(now));
    expect(window.id).toBe(id);
    expect(new Date(window.endMs).toISOString()).toBe(end);
  });
});
