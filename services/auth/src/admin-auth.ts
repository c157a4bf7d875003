import { createHash, timingSafeEqual } from "node:crypto";
import { createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { StrataError } from "@strata/errors";
import { remoteAddressKey } from "@strata/platform";
import { adminTokenPrefix, parseKey, verifySecret } from "./api-key.ts";
import type { AuthStore } from "./store.ts";

/** Who is calling the admin API. */
export interface AdminActor {
  /** For the audit log: `admin-token:<id>` or `bootstrap:<fingerprint>`; never the token. */
  actor: string;
  /** Set when the token is scoped to one tenant. */
  tenantScope: string | undefined;
  source: string;
}

/** A bootstrap (break-glass) token configured as a SHA-256 hash, optionally with an expiry. */
export interface BootstrapToken {
  sha256: string;
  expiresAtMs?: number | undefined;
}

export const adminActorKey = createContextKey<AdminActor | undefined>(undefined, {
  description: "admin actor",
});

/** The authenticated actor of an admin call (set by the admin interceptor). */
export function actorOf(ctx: HandlerContext): AdminActor {
  const actor = ctx.values.get(adminActorKey);
  if (!actor) throw new StrataError("unauthenticated", "A valid admin token is required.");
  return actor;
}

/** Options of adminAuthInterceptor. */
export interface AdminAuthOptions {
  store: AuthStore;
  bootstrapTokens: readonly BootstrapToken[];
  pepper?: string | undefined;
  now?: () => number;
}

/**
 * Authenticates every admin call (`authorization: Bearer <token>`). Two kinds of token:
 * - admin tokens issued by CreateAdminToken (`strata-admin-…`): looked up by id, salted hash
 *   compared in constant time, time-bound, revocable, optionally scoped to one tenant;
 * - bootstrap tokens configured as SHA-256 hashes (STRATA_ADMIN_TOKEN_SHA256), global, optionally
 *   with an expiry, for installing and break-glass access.
 * Every refusal is audited with the caller's address, never with the presented token.
 */
export function adminAuthInterceptor({
  store,
  bootstrapTokens,
  pepper,
  now = Date.now,
}: AdminAuthOptions): Interceptor {
  const bootstrap = bootstrapTokens.map((t) => ({
    digest: Buffer.from(t.sha256, "hex"),
    expiresAtMs: t.expiresAtMs,
  }));

  const authenticate = async (token: string, source: string): Promise<AdminActor | string> => {
    if (!token) return "missing admin token";
    const parsed = parseKey(token, adminTokenPrefix);
    if (parsed) {
      const record = await store.getAdminToken(parsed.keyId);
      if (!record || !verifySecret(parsed.secret, record, pepper)) return "invalid admin token";
      if (record.revokedAtMs !== undefined && record.revokedAtMs <= now())
        return `revoked admin token ${record.tokenId}`;
      if (record.expiresAtMs <= now()) return `expired admin token ${record.tokenId}`;
      return {
        actor: `admin-token:${record.tokenId}`,
        tenantScope: record.tenantId || undefined,
        source,
      };
    }
    const digest = createHash("sha256").update(token).digest();
    const match = bootstrap.find(
      (b) => b.digest.length === digest.length && timingSafeEqual(b.digest, digest),
    );
    if (!match) return "invalid admin token";
    if (match.expiresAtMs !== undefined && match.expiresAtMs <= now())
      return "expired bootstrap token";
    return {
      actor: `bootstrap:${digest.toString("hex").slice(0, 12)}`,
      tenantScope: undefined,
      source,
    };
  };

  return (next) => async (req) => {
    const header = req.header.get("authorization") ?? "";
    const token = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
    const source = req.contextValues.get(remoteAddressKey);
    const result = await authenticate(token, source);
    if (typeof result === "string") {
      await store
        .appendAudit({
          tenantId: "-",
          actor: "anonymous",
          action: req.method.name,
          target: "-",
          result: "denied",
          source,
          detail: result,
        })
        .catch(() => undefined);
      throw new StrataError("unauthenticated", "A valid admin token is required.", {
        code: "invalid_admin_token",
      });
    }
    req.contextValues.set(adminActorKey, result);
    return next(req);
  };
}
