import { BudgetPeriod } from "@strata/proto";

/** One calendar period of a budget (UTC), as a key part and its end. */
export interface PeriodWindow {
  /** `d2026-11-23` or `m2026-11`: part of the budget's store key. */
  id: string;
  /** First millisecond of the period. */
  startMs: number;
  /** First millisecond of the next period: when the budget is whole again. */
  endMs: number;
  /** For messages: "daily" or "monthly". */
  adjective: "daily" | "monthly";
}

/**
 * The budget period containing `nowMs`. Days and months are UTC calendar periods, so every
 * replica and every time zone agrees on when a budget rolls over. A budget without a period is
 * monthly (the usual billing period).
 */
export function periodWindow(period: BudgetPeriod, nowMs: number): PeriodWindow {
  const now = new Date(nowMs);
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const pad = (n: number) => String(n).padStart(2, "0");
  switch (period) {
    case BudgetPeriod.DAY: {
      const d = now.getUTCDate();
      return {
        id: `d${y}-${pad(m + 1)}-${pad(d)}`,
        startMs: Date.UTC(y, m, d),
        endMs: Date.UTC(y, m, d + 1),
        adjective: "daily",
      };
    }
    case BudgetPeriod.MONTH:
    case BudgetPeriod.UNSPECIFIED:
      return {
        id: `m${y}-${pad(m + 1)}`,
        startMs: Date.UTC(y, m, 1),
        endMs: Date.UTC(y, m + 1, 1),
        adjective: "monthly",
      };
    default: {
      const never: never = period;
      return never;
    }
  }
}
