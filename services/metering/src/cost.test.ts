import { describe, expect, it } from "vitest";
import { costMicros } from "./cost.ts";

const price = (input: number, output: number, cacheRead = 0, cacheWrite = 0) => ({
  inputPerMillionMicros: input,
  outputPerMillionMicros: output,
  cacheReadPerMillionMicros: cacheRead,
  cacheWritePerMillionMicros: cacheWrite,
});

describe("costMicros", () => {
  it.each([
    [
      "prices input, output and cache reads per million tokens",
      price(3_000_000, 15_000_000, 300_000),
      { input: 1_000, output: 100, cacheRead: 1_000 },
      4_800,
    ],
    [
      "prices cache writes at their own (premium) price",
      price(3_000_000, 15_000_000, 300_000, 3_750_000),
      { input: 1_000, output: 100, cacheRead: 1_000, cacheWrite: 2_000 },
      12_300,
    ],
    [
      "treats a price without a cache-write price (an older reservation) as free writes",
      { inputPerMillionMicros: 1_000_000, outputPerMillionMicros: 0, cacheReadPerMillionMicros: 0 },
      { input: 1_000, output: 0, cacheWrite: 5_000 },
      1_000,
    ],
    ["rounds the sum up, not each part", price(1, 1), { input: 1, output: 1 }, 1],
    ["is zero for no tokens", price(3_000_000, 15_000_000), { input: 0, output: 0 }, 0],
    ["is zero without a price", undefined, { input: 1_000, output: 1_000 }, 0],
    [
      "stays exact where a double product would not",
      price(4_294_967_295, 4_294_967_295),
      { input: 4_294_967_295, output: 4_294_967_295 },
      Number(((2n ** 32n - 1n) ** 2n * 2n + 999_999n) / 1_000_000n),
    ],
  ])("%s", (_, p, tokens, expected) => {
    expect(costMicros(p, tokens)).toBe(expected);
  });
});
