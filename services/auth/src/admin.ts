import { createHash, timingSafeEqual } from "node:crypto";
import type { HandlerContext, Interceptor, ServiceImpl } from "@connectrpc/connect";
import { invalidRequest, StrataError } from "@strata/errors";
import { remoteAddressKey } from "@strata/platform";
import type { AuthAdminService } from "@strata/proto";
import { generateKey, hashSecret } from "./api-key.ts";
import { keyToProto, policyFromProto, tenantToProto } from "./convert.ts";
import type { AuthStore, StoredPolicy } from "./store.ts";

const tenantIdPattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const dayMs = 86_400_000;

/** Options of createAdminService. */
export interface AdminServiceOptions {
  store: AuthStore;
  pepper?: string | undefined;
  keyMaxAgeDays: number;
  now?: () => number;
}

/** Who called an admin RPC, set by the admin token interceptor. */
const actorHeader = "x-strata-admin-actor";

function actorOf(ctx: HandlerContext): { actor: string; source: string } {
  return {
    actor: ctx.requestHeader.get(actorHeader) ?? "unknown",
    source: ctx.values.get(remoteAddressKey),
  };
}

/**
 * Requires `authorization: Bearer <admin token>` on every admin call; tokens are configured as
 * SHA-256 hashes and compared in constant time. Denied attempts are audited (without the token).
 */
export function adminTokenInterceptor(
  tokenHashes: readonly string[],
  store: AuthStore,
): Interceptor {
  const hashes = tokenHashes.map((h) => Buffer.from(h, "hex"));
  return (next) => async (req) => {
    const header = req.header.get("authorization") ?? "";
    const token = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
    const digest = createHash("sha256").update(token).digest();
    const match =
      token !== "" && hashes.some((h) => h.length === digest.length && timingSafeEqual(h, digest));
    if (!match) {
      await store
        .appendAudit({
          tenantId: "-",
          actor: "anonymous",
          action: req.method.name,
          target: "-",
          result: "denied",
          source: req.contextValues.get(remoteAddressKey),
          detail: token ? "invalid admin token" : "missing admin token",
        })
        .catch(() => undefined);
      throw new StrataError("unauthenticated", "A valid admin token is required.", {
        code: "invalid_admin_token",
      });
    }
    // The actor is named by a short fingerprint of the token, never the token.
    req.header.set(actorHeader, `admin:${digest.toString("hex").slice(0, 12)}`);
    return next(req);
  };
}

function validatePolicy(policy: StoredPolicy, param: string): StoredPolicy {
  for (const [i, pattern] of policy.allowedModels.entries()) {
    if (!/^[\w.:/*@-]{1,256}$/.test(pattern)) {
      throw invalidRequest(`${param}.allowed_models[${i}]`, `Invalid model pattern '${pattern}'.`);
    }
  }
  return policy;
}

/** The admin plane: tenants and keys. Every change is audited. */
export function createAdminService({
  store,
  pepper,
  keyMaxAgeDays,
  now = Date.now,
}: AdminServiceOptions): ServiceImpl<typeof AuthAdminService> {
  return {
    async createTenant(req, ctx) {
      if (!tenantIdPattern.test(req.tenantId)) {
        throw invalidRequest(
          "tenant_id",
          "Tenant ids are 1-63 lower-case letters, digits and dashes, starting and ending with a letter or digit.",
        );
      }
      const tenant = {
        tenantId: req.tenantId,
        displayName: req.displayName || req.tenantId,
        status: "active" as const,
        policy: validatePolicy(policyFromProto(req.policy), "policy"),
        createdAt: new Date(now()).toISOString(),
      };
      await store.createTenant(tenant);
      await store.appendAudit({
        ...actorOf(ctx),
        tenantId: tenant.tenantId,
        action: "tenant.create",
        target: tenant.tenantId,
        result: "success",
      });
      return { tenant: tenantToProto(tenant) };
    },
    async getTenant(req) {
      const tenant = await store.getTenant(req.tenantId);
      if (!tenant)
        throw new StrataError("not_found", `Tenant '${req.tenantId}' does not exist.`, {
          param: "tenant_id",
        });
      return { tenant: tenantToProto(tenant) };
    },
    async listTenants() {
      const tenants = await store.listTenants();
      tenants.sort((a, b) => a.tenantId.localeCompare(b.tenantId));
      return { tenants: tenants.map(tenantToProto) };
    },
    async createKey(req, ctx) {
      const tenant = await store.getTenant(req.tenantId);
      if (!tenant)
        throw new StrataError("not_found", `Tenant '${req.tenantId}' does not exist.`, {
          param: "tenant_id",
        });
      if (tenant.status !== "active")
        throw invalidRequest("tenant_id", `Tenant '${req.tenantId}' is suspended.`);
      if (req.name.length > 128)
        throw invalidRequest("name", "Key names are at most 128 characters.");
      const maxAgeSeconds = keyMaxAgeDays * 86_400;
      if (req.ttlSeconds > maxAgeSeconds) {
        throw invalidRequest(
          "ttl_seconds",
          `Keys live at most ${keyMaxAgeDays} days (${maxAgeSeconds} seconds).`,
        );
      }
      const createdMs = now();
      const generated = generateKey();
      const record = {
        keyId: generated.keyId,
        tenantId: tenant.tenantId,
        name: req.name || "unnamed",
        ...hashSecret(generated.secret, pepper),
        policy: validatePolicy(policyFromProto(req.policy), "policy"),
        createdAt: new Date(createdMs).toISOString(),
        expiresAtMs:
          createdMs + (req.ttlSeconds > 0 ? req.ttlSeconds * 1000 : keyMaxAgeDays * dayMs),
      };
      await store.createKey(record);
      await store.appendAudit({
        ...actorOf(ctx),
        tenantId: tenant.tenantId,
        action: "key.create",
        target: record.keyId,
        result: "success",
      });
      return { key: keyToProto(record, createdMs), secret: generated.plaintext };
    },
    async listKeys(req) {
      const keys = await store.listKeys(req.tenantId || undefined);
      keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      const at = now();
      return { keys: keys.map((k) => keyToProto(k, at)) };
    },
    async revokeKey(req, ctx) {
      const key = await store.revokeKey(req.keyId, now());
      if (!key)
        throw new StrataError("not_found", `Key '${req.keyId}' does not exist.`, {
          param: "key_id",
        });
      await store.appendAudit({
        ...actorOf(ctx),
        tenantId: key.tenantId,
        action: "key.revoke",
        target: key.keyId,
        result: "success",
      });
      return { key: keyToProto(key, now()) };
    },
  };
}
