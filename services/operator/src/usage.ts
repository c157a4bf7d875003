import type { UsageSummary } from "@strata/proto";

/** The budget period a Tenant's usage is summed over, and the days to ask auth for. */
export interface UsagePeriod {
  /** `YYYY-MM` for a month, `YYYY-MM-DD` for a day (UTC), as shown in the status. */
  label: string;
  sinceDay: string;
  untilDay: string;
}

/**
 * The current period of a tenant's budget (UTC calendar day or month, as metering counts
 * budgets); a tenant without a budget period is summed per month.
 */
export function usagePeriod(now: Date, period: "Day" | "Month" | undefined): UsagePeriod {
  const day = now.toISOString().slice(0, 10);
  if (period === "Day") return { label: day, sinceDay: day, untilDay: day };
  const month = day.slice(0, 7);
  return { label: month, sinceDay: `${month}-01`, untilDay: day };
}

/** Total tokens (prompt and completion, as budgets count them) of a period's summaries. */
export function totalTokens(summaries: readonly UsageSummary[]): number {
  let total = 0;
  for (const s of summaries) total += s.inputTokens + s.outputTokens;
  return Math.round(total);
}

/**
 * Total cost in micro-units of a period's summaries (what cost budgets count), for
 * `status.usage.costMicros`: an integer, as the CRD's schema requires. Usage recorded before the
 * ledger kept cost counts 0.
 */
export function totalCostMicros(summaries: readonly UsageSummary[]): number {
  let total = 0;
  for (const s of summaries) total += s.costMicros;
  return Math.round(total);
}
