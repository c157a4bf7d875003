import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateKey, hashSecret, keyPrefix, maskKey, parseKey, verifySecret } from "./api-key.ts";

describe("API keys", () => {
  it("generates recognisable keys that parse back to their parts", () => {
    const key = generateKey();
    expect(key.plaintext.startsWith(keyPrefix)).toBe(true);
    expect(key.plaintext).toHaveLength(72);
    expect(parseKey(key.plaintext)).toEqual({ keyId: key.keyId, secret: key.secret });
  });

  it("draws a fresh 256-bit secret and key id every time", () => {
    const keys = Array.from({ length: 200 }, generateKey);
    expect(new Set(keys.map((k) => k.secret)).size).toBe(200);
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(200);
    // 43 base62 digits carry log2(62^43) ≈ 256.03 bits.
    expect(keys[0]?.secret).toMatch(/^[0-9A-Za-z]{43}$/);
  });

  it("rejects any single-character change by checksum, without a lookup", () => {
    const { plaintext } = generateKey();
    fc.assert(
      fc.property(
        fc.integer({ min: keyPrefix.length, max: plaintext.length - 1 }),
        fc.constantFrom(..."0aZ9"),
        (i, c) => {
          if (plaintext[i] === c || plaintext[i] === "_") return;
          expect(parseKey(plaintext.slice(0, i) + c + plaintext.slice(i + 1))).toBeUndefined();
        },
      ),
    );
  });

  it.each([
    "",
    "sk-strata-",
    "Bearer x",
    "sk-proj-abc",
    `${generateKey().plaintext}x`,
    " ".repeat(72),
  ])("rejects malformed key %j", (presented) => {
    expect(parseKey(presented)).toBeUndefined();
  });

  it("masks keys in messages: never the secret", () => {
    const key = generateKey();
    const masked = maskKey(key.plaintext);
    expect(masked).toContain(key.keyId);
    expect(masked).not.toContain(key.secret.slice(0, 8));
    expect(maskKey("sk-proj-0123456789abcdef")).toBe("sk-…cdef");
    expect(maskKey("short")).toBe("…");
  });

  it("stores a salted hash that verifies only the right secret", () => {
    const { secret } = generateKey();
    const a = hashSecret(secret, undefined);
    const b = hashSecret(secret, undefined);
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
    expect(a.hash).not.toContain(secret);
    expect(verifySecret(secret, a, undefined)).toBe(true);
    const other = `${secret.slice(0, -1)}${secret.endsWith("x") ? "y" : "x"}`;
    expect(verifySecret(other, a, undefined)).toBe(false);
  });

  it("needs the pepper to verify a peppered hash", () => {
    const { secret } = generateKey();
    const stored = hashSecret(secret, "pepper-1");
    expect(stored.scheme).toBe("hmac-sha256");
    expect(verifySecret(secret, stored, "pepper-1")).toBe(true);
    expect(verifySecret(secret, stored, "pepper-2")).toBe(false);
    expect(verifySecret(secret, stored, undefined)).toBe(false);
  });
});
