/**
 * Deterministic embedding vectors: the same text always gets the same vector, different texts
 * get (practically) unrelated ones, with no model involved. The seed is sha256(text); values come
 * from a xoshiro128** generator so a shorter vector is a prefix of a longer one before
 * normalisation (like Titan v2's 256/512/1024 variants).
 */
import { createHash } from "node:crypto";

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

/** xoshiro128** (Blackman & Vigna) over a 128-bit seed; returns floats in [0, 1). */
function xoshiro128ss(seed: Buffer): () => number {
  let s0 = seed.readUInt32LE(0);
  let s1 = seed.readUInt32LE(4);
  let s2 = seed.readUInt32LE(8);
  let s3 = seed.readUInt32LE(12) || 0x9e3779b9;
  return () => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result / 4_294_967_296;
  };
}

/**
 * A vector of `dimensions` values in [-1, 1) derived from sha256(`text`), scaled to unit length
 * when `normalize` is true. Values are rounded to float32 precision, as Bedrock returns them.
 */
export function deterministicVector(
  text: string,
  dimensions: number,
  normalize: boolean,
): number[] {
  const next = xoshiro128ss(createHash("sha256").update(text, "utf8").digest());
  const values = Array.from({ length: dimensions }, () => next() * 2 - 1);
  const norm = normalize ? Math.hypot(...values) || 1 : 1;
  return values.map((v) => Math.fround(v / norm));
}
