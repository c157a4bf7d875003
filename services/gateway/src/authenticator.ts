import { createHash } from "node:crypto";
import type { Client } from "@connectrpc/connect";
import { asStrataError, StrataError } from "@strata/errors";
import type { AuthService, Principal, VerifyKeyResponse } from "@strata/proto";
import { LRUCache } from "lru-cache";
import type { PolicyLayers } from "./policy.ts";

/** Who a request is for, and what they may do. */
export interface Caller {
  principal: Principal;
  policy: PolicyLayers;
}

/** Options of createAuthenticator. */
export interface AuthenticatorOptions {
  auth: Client<typeof AuthService>;
  timeoutMs: number;
  maxTtlMs: number;
  negativeTtlMs: number;
  maxEntries?: number;
}

type Entry = { ok: true; caller: Caller } | { ok: false; error: StrataError };

/** OpenAI's message when no key is sent at all. */
const missingKey =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";

/** Extracts the key from `Authorization: Bearer <key>`; undefined when absent or not Bearer. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Verifies API keys through the auth service, with a bounded cache in front: successful answers
 * for as long as auth allows (never past the key's expiry, never longer than maxTtlMs), refusals
 * for a short time. The cache is keyed by the key's SHA-256, not the key, and concurrent requests
 * with the same uncached key share one call.
 */
export function createAuthenticator({
  auth,
  timeoutMs,
  maxTtlMs,
  negativeTtlMs,
  maxEntries = 100_000,
}: AuthenticatorOptions) {
  const cache = new LRUCache<string, Entry>({ max: maxEntries, ttlAutopurge: false });
  const inflight = new Map<string, Promise<Entry>>();

  const verify = async (apiKey: string, sourceIp: string, cacheKey: string): Promise<Entry> => {
    let entry: Entry;
    let ttl: number;
    try {
      const res: VerifyKeyResponse = await auth.verifyKey({ apiKey, sourceIp }, { timeoutMs });
      const principal = res.principal;
      if (!principal)
        throw new StrataError("internal", undefined, {
          cause: new Error("VerifyKey returned no principal"),
        });
      entry = {
        ok: true,
        caller: { principal, policy: { tenant: res.tenantPolicy, key: res.keyPolicy } },
      };
      ttl = Math.min(maxTtlMs, res.cacheTtlMs);
    } catch (error) {
      const strata = asStrataError(error);
      // Only definite answers about the key are cached; an unreachable auth service is not.
      if (strata.reason !== "unauthenticated" && strata.reason !== "permission_denied")
        throw strata;
      entry = { ok: false, error: strata };
      ttl = negativeTtlMs;
    }
    if (ttl > 0) cache.set(cacheKey, entry, { ttl });
    return entry;
  };

  return async function authenticate(
    authorization: string | undefined,
    sourceIp: string,
  ): Promise<Caller> {
    const apiKey = bearerToken(authorization);
    if (!apiKey) throw new StrataError("unauthenticated", missingKey, { code: "missing_api_key" });
    const cacheKey = createHash("sha256").update(apiKey).digest("base64url");
    let entry = cache.get(cacheKey);
    if (!entry) {
      let pending = inflight.get(cacheKey);
      if (!pending) {
        pending = verify(apiKey, sourceIp, cacheKey).finally(() => inflight.delete(cacheKey));
        inflight.set(cacheKey, pending);
      }
      entry = await pending;
    }
    if (!entry.ok) throw entry.error;
    return entry.caller;
  };
}
