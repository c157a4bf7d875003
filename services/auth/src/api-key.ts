import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { crc32 } from "node:zlib";

/**
 * Strata API keys: `sk-strata-<keyId>_<secret><checksum>`.
 * - the prefix lets secret scanners (GitHub, gitleaks) recognise a leaked key;
 * - keyId (12 base62 characters) is public and indexes the key record: one read to verify;
 * - secret is 256 bits from the CSPRNG, 43 base62 characters;
 * - checksum is CRC-32 of everything before it, 6 base62 characters, so a mistyped or made-up
 *   key is rejected without touching the database.
 */
export const keyPrefix = "sk-strata-";
/** Admin tokens have the same shape under their own prefix, so neither can pass for the other. */
export const adminTokenPrefix = "strata-admin-";
const keyIdLength = 12;
const secretLength = 43;
const checksumLength = 6;
const patterns = new Map<string, RegExp>();
function patternFor(prefix: string): RegExp {
  let pattern = patterns.get(prefix);
  if (!pattern) {
    pattern = new RegExp(
      `^${prefix}([0-9A-Za-z]{${keyIdLength}})_([0-9A-Za-z]{${secretLength}})([0-9A-Za-z]{${checksumLength}})$`,
    );
    patterns.set(prefix, pattern);
  }
  return pattern;
}
const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function base62(bytes: Uint8Array, length: number): string {
  let n = BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`);
  let out = "";
  while (n > 0n) {
    out = alphabet[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(length, "0");
}

function checksum(body: string): string {
  const value = crc32(body);
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return base62(bytes, checksumLength);
}

/** A freshly generated key: the plaintext to show once, and its parts. */
export interface GeneratedKey {
  plaintext: string;
  keyId: string;
  secret: string;
}

/** Generates a key (or, with adminTokenPrefix, an admin token) with a 256-bit CSPRNG secret. */
export function generateKey(prefix = keyPrefix): GeneratedKey {
  // 9 bytes (72 bits) give 12 base62 digits with room to spare; trimmed to exactly 12.
  const keyId = base62(randomBytes(9), keyIdLength).slice(-keyIdLength);
  const secret = base62(randomBytes(32), secretLength);
  const body = `${prefix}${keyId}_${secret}`;
  return { plaintext: body + checksum(body), keyId, secret };
}

/** The parts of a well-formed key. */
export interface ParsedKey {
  keyId: string;
  secret: string;
}

/** Parses a presented key; undefined when malformed or when the checksum does not match. */
export function parseKey(presented: string, prefix = keyPrefix): ParsedKey | undefined {
  const match = patternFor(prefix).exec(presented);
  if (!match) return undefined;
  const [, keyId = "", secret = "", sum = ""] = match;
  if (checksum(`${prefix}${keyId}_${secret}`) !== sum) return undefined;
  return { keyId, secret };
}

/**
 * The part of a key that is safe to show in an error or a listing: its prefix and key id, or for
 * anything else the first and last characters, like OpenAI's "sk-abc...wxyz".
 */
export function maskKey(presented: string): string {
  const parsed = patternFor(keyPrefix).exec(presented);
  if (parsed) return `${keyPrefix}${parsed[1]}_…`;
  if (presented.length <= 8) return "…";
  return `${presented.slice(0, 3)}…${presented.slice(-4)}`;
}

/** The prefix shown in listings: enough to recognise a key, nothing to use it. */
export function displayPrefix(keyId: string): string {
  return `${keyPrefix}${keyId}_`;
}

/** How a stored hash was made, so the scheme can change without invalidating keys. */
export type HashScheme = "sha256" | "hmac-sha256";

/** A stored verifier: per-key salt and the hash. Never the secret. */
export interface KeyVerifier {
  scheme: HashScheme;
  salt: string;
  hash: string;
}

/**
 * Hashes a secret with a per-key salt: SHA-256(salt ‖ secret), or with a server-side pepper
 * HMAC-SHA256(pepper, salt ‖ secret), so a stolen table alone cannot be brute-forced.
 * (The secret has 256 bits of entropy: a slow KDF would add latency, not safety.)
 */
export function hashSecret(
  secret: string,
  pepper: string | undefined,
  salt = randomBytes(16).toString("hex"),
): KeyVerifier {
  const input = Buffer.concat([Buffer.from(salt, "hex"), Buffer.from(secret, "utf8")]);
  if (pepper) {
    return {
      scheme: "hmac-sha256",
      salt,
      hash: createHmac("sha256", pepper).update(input).digest("hex"),
    };
  }
  return { scheme: "sha256", salt, hash: createHash("sha256").update(input).digest("hex") };
}

/** Checks a secret against a stored verifier in constant time. */
export function verifySecret(
  secret: string,
  verifier: KeyVerifier,
  pepper: string | undefined,
): boolean {
  if (verifier.scheme === "hmac-sha256" && !pepper) return false;
  const candidate = hashSecret(
    secret,
    verifier.scheme === "hmac-sha256" ? pepper : undefined,
    verifier.salt,
  );
  const a = Buffer.from(candidate.hash, "hex");
  const b = Buffer.from(verifier.hash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
