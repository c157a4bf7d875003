/**
 * An amount in micro-units (1 USD = 1,000,000, as the price table and budgets count) written as
 * currency with all six decimals: `$12.345678`, `$0.000028`. Exact (integer arithmetic): a ledger
 * total is never rounded away, and columns of amounts line up on the decimal point.
 */
export function formatMicros(micros: number): string {
  const whole = BigInt(Math.round(micros));
  const sign = whole < 0n ? "-" : "";
  const abs = whole < 0n ? -whole : whole;
  const units = abs / 1_000_000n;
  const fraction = String(abs % 1_000_000n).padStart(6, "0");
  return `${sign}$${units.toLocaleString("en-US")}.${fraction}`;
}
