import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { Tiktoken } from "js-tiktoken/lite";
import cl100k from "js-tiktoken/ranks/cl100k_base";
import o200k from "js-tiktoken/ranks/o200k_base";
import { describe, expect, it } from "vitest";
import { decodeTokens, isToken, type TokenEncoding } from "./embedding-tokens.ts";

// js-tiktoken's own Tiktoken class is the reference: the byte tables must decode every id as it
// does, and give back any text it encodes.
const tiktoken: Record<TokenEncoding, Tiktoken> = {
  cl100k_base: new Tiktoken(cl100k),
  o200k_base: new Tiktoken(o200k),
};
const encodings = Object.keys(tiktoken) as TokenEncoding[];

describe("the token vocabularies", () => {
  it.each([
    // Regular tokens 0..100255; special tokens 100257-100260 and 100276.
    { encoding: "cl100k_base", tokens: 100_261, holes: [100_256, 100_261, 100_275], last: 100_276 },
    // Regular tokens 0..199997; special tokens 199999 and 200018.
    { encoding: "o200k_base", tokens: 200_000, holes: [199_998, 200_000, 200_017], last: 200_018 },
  ] as const)("$encoding has $tokens tokens, up to $last", ({ encoding, tokens, holes, last }) => {
    let count = 0;
    for (let id = 0; id <= last + 10; id++) if (isToken(encoding, id)) count++;
    expect(count).toBe(tokens);
    expect(isToken(encoding, last)).toBe(true);
    expect(isToken(encoding, last + 1)).toBe(false);
    for (const hole of holes) expect(isToken(encoding, hole)).toBe(false);
    for (const id of [-1, 0.5, Number.NaN, 2 ** 32, 1e308])
      expect(isToken(encoding, id)).toBe(false);
  });

  it.each(encodings)("%s decodes every id as js-tiktoken does", (encoding) => {
    const reference = tiktoken[encoding];
    const wrong: number[] = [];
    for (let id = 0; id < 200_100; id++) {
      if (!isToken(encoding, id)) continue;
      const text = decodeTokens(encoding, [id]);
      // js-tiktoken's TextDecoder drops a leading byte order mark; tiktoken keeps it, and so do we.
      if (text !== reference.decode([id]) && text !== `\ufeff${reference.decode([id])}`) {
        wrong.push(id);
      }
    }
    expect(wrong).toEqual([]);
  });

  it.each(encodings)("%s gives back any text js-tiktoken encodes", (encoding) => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (text) => {
        expect(decodeTokens(encoding, tiktoken[encoding].encode(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps no state between calls: a character cut at the end does not reach the next text", () => {
    expect(decodeTokens("cl100k_base", [9468, 234])).toBe("\ufffd"); // the first bytes of 🌍
    expect(decodeTokens("cl100k_base", [235, 15339])).toBe("\ufffdhello");
  });

  it("loads a vocabulary only when a token array needs it", () => {
    const script = `
      import { createRequire } from "node:module";
      const { parseEmbeddingRequest } = await import(${JSON.stringify(new URL("./parse-embedding-request.ts", import.meta.url).href)});
      const loaded = () => Object.keys(createRequire(import.meta.url).cache)
        .filter((path) => path.includes("js-tiktoken")).map((path) => path.split("/").pop());
      const seen = [];
      parseEmbeddingRequest({ model: "m", input: ["hello world"] });
      seen.push(loaded());
      parseEmbeddingRequest({ model: "m", input: [[15339, 1917]] });
      seen.push(loaded());
      parseEmbeddingRequest({ model: "m", input: [[130321]] });
      seen.push(loaded());
      console.log(JSON.stringify(seen));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    expect(JSON.parse(out)).toEqual([
      [],
      ["cl100k_base.cjs"],
      ["cl100k_base.cjs", "o200k_base.cjs"],
    ]);
  });
});
