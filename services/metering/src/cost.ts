/** Prices in micro-units per million tokens: strata.metering.v1.TokenPrice, or a stored copy. */
export interface PriceMicros {
  inputPerMillionMicros: number;
  outputPerMillionMicros: number;
  cacheReadPerMillionMicros: number;
  /** Absent in reservations stored before cache writes were priced: 0. */
  cacheWritePerMillionMicros?: number;
}

/** Token counts to price. */
export interface TokenCounts {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
}

const million = 1_000_000n;

/**
 * The cost of tokens in micro-units (1 USD = 1,000,000):
 * `ceil((input·inPrice + output·outPrice + cacheRead·readPrice + cacheWrite·writePrice) / 1e6)`,
 * prices being micros per
 * million tokens. Computed with BigInt: a uint32 count times a uint32 price overflows the 2^53 a
 * double holds exactly, while the result (at most ~5.5e13) does not.
 */
export function costMicros(price: PriceMicros | undefined, tokens: TokenCounts): number {
  if (!price) return 0;
  const total =
    BigInt(tokens.input) * BigInt(price.inputPerMillionMicros) +
    BigInt(tokens.output) * BigInt(price.outputPerMillionMicros) +
    BigInt(tokens.cacheRead ?? 0) * BigInt(price.cacheReadPerMillionMicros) +
    BigInt(tokens.cacheWrite ?? 0) * BigInt(price.cacheWritePerMillionMicros ?? 0);
  return Number((total + million - 1n) / million);
}
