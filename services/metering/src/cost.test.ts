import { describe, expect, it } from "vitest";
import { costMicros } from "./cost.ts";

const price = (input: number, output: number, cacheRead = 0) => ({
  inputPerMillionMicros: input,
  outputPerMillionMicros: output,
  cacheReadPerMillionMicros: cacheRead,
});

describe("costMicros", () => {
  it.each([
    [
      "prices input, output and cache reads per million tokens",
      price(3_000_000, 15_000_000, 300_000),
      { input: 1_000, output: 100, cacheRead: 1_000 },
      4_800,
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
