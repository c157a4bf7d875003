import { create } from "@bufbuild/protobuf";
import { StrataError } from "@strata/errors";
import {
  KeyStatus,
  type VerifyKeyRequest,
  type VerifyKeyResponse,
  VerifyKeyResponseSchema,
} from "@strata/proto";
import { maskKey, parseKey, verifySecret } from "./api-key.ts";
import { keyStatus, policyToProto } from "./convert.ts";
import type { AuthStore, TenantRecord } from "./store.ts";

/** Options of createKeyVerifier. */
export interface KeyVerifierOptions {
  store: AuthStore;
  pepper?: string | undefined;
  cacheTtlMs: number;
  now?: () => number;
  /**
   * Counts each verification by result (valid, malformed, unknown, revoked, expired, suspended,
   * unavailable: the store could not be read).
   */
  onResult?: (result: string) => void;
  /** Told why the store could not be read (logged by the caller). */
  onStoreError?: (error: unknown) => void;
}

/**
 * Verifies presented API keys. Malformed keys fail before any read; a wrong secret and an unknown
 * key id fail alike; revocation and expiry are only told to someone who holds the whole key.
 * When the store cannot be read (DynamoDB down, throttling, or the caller's deadline passed while
 * it hung) nothing is known about the key: that is `upstream_unavailable` (503 with retry-after
 * at the gateway), never `internal`.
 */
export function createKeyVerifier({
  store,
  pepper,
  cacheTtlMs,
  now = Date.now,
  onResult = () => {},
  onStoreError = () => {},
}: KeyVerifierOptions) {
  const read = async <T>(load: () => Promise<T>): Promise<T> => {
    try {
      return await load();
    } catch (error) {
      if (error instanceof StrataError) throw error;
      onResult("unavailable");
      onStoreError(error);
      throw new StrataError(
        "upstream_unavailable",
        "API keys cannot be verified right now. Please try again shortly.",
        { retryAfterMs: 1_000, cause: error },
      );
    }
  };
  // Tenants change rarely and are read on every uncached verification: keep them briefly.
  const tenants = new Map<string, { tenant: TenantRecord | undefined; until: number }>();
  const tenantTtlMs = Math.min(cacheTtlMs, 5_000);
  const getTenant = async (tenantId: string, signal: AbortSignal | undefined) => {
    const cached = tenants.get(tenantId);
    if (cached && cached.until > now()) return cached.tenant;
    const tenant = await read(() => store.getTenant(tenantId, signal));
    tenants.set(tenantId, { tenant, until: now() + tenantTtlMs });
    return tenant;
  };
  const reject = (result: string, message: string, code?: string): never => {
    onResult(result);
    throw new StrataError("unauthenticated", message, { code });
  };

  /** `signal`: the call's (deadline, caller gone), passed to the store's reads. */
  const verifyKey = async (
    req: VerifyKeyRequest,
    signal?: AbortSignal,
  ): Promise<VerifyKeyResponse> => {
    const incorrect = `Incorrect API key provided: ${maskKey(req.apiKey)}. You can obtain an API key from your Strata administrator.`;
    const parsed = parseKey(req.apiKey);
    if (!parsed) return reject("malformed", incorrect);
    const key = await read(() => store.getKey(parsed.keyId, signal));
    if (!key || !verifySecret(parsed.secret, key, pepper)) return reject("unknown", incorrect);
    const at = now();
    switch (keyStatus(key, at)) {
      case KeyStatus.REVOKED:
        return reject("revoked", "The API key provided has been revoked.", "revoked_api_key");
      case KeyStatus.EXPIRED:
        return reject(
          "expired",
          `The API key provided expired on ${new Date(key.expiresAtMs).toISOString()}. Ask for a new key.`,
          "expired_api_key",
        );
      default:
        break;
    }
    const tenant = await getTenant(key.tenantId, signal);
    if (tenant?.status !== "active") {
      onResult("suspended");
      throw new StrataError("permission_denied", "The tenant of this API key is suspended.", {
        code: "tenant_suspended",
      });
    }
    onResult("valid");
    const untilExpiry = key.expiresAtMs > 0 ? key.expiresAtMs - at : cacheTtlMs;
    return create(VerifyKeyResponseSchema, {
      principal: { tenantId: key.tenantId, keyId: key.keyId },
      tenantPolicy: policyToProto(tenant.policy),
      keyPolicy: policyToProto(key.policy),
      cacheTtlMs: Math.max(0, Math.min(cacheTtlMs, untilExpiry)),
      expiresAtMs: key.expiresAtMs,
    });
  };
  return {
    verifyKey,
    /** Drops a tenant from the short tenant cache (it changed: suspended, policy edited). */
    forgetTenant: (tenantId: string) => tenants.delete(tenantId),
  };
}
