import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { invalidRequest, StrataError } from "@strata/errors";
import { type AuthAdminService, TenantStatus, type UsageSummary } from "@strata/proto";
import { actorOf } from "./admin-auth.ts";
import { adminTokenPrefix, generateKey, hashSecret } from "./api-key.ts";
import {
  adminTokenToProto,
  auditEventToProto,
  keyToProto,
  policyFromProto,
  tenantToProto,
} from "./convert.ts";
import { validatePolicy } from "./policy-rules.ts";
import type { AuditEvent, AuthStore, KeyRecord } from "./store.ts";

const tenantIdPattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const dayMs = 86_400_000;

/** Options of createAdminService. */
export interface AdminServiceOptions {
  store: AuthStore;
  /** Metering's usage query; undefined when this auth is not connected to metering. */
  queryUsage?:
    | ((req: { tenantId: string; sinceDay: string; untilDay: string }) => Promise<UsageSummary[]>)
    | undefined;
  pepper?: string | undefined;
  keyMaxAgeDays: number;
  /** How long a rotated key keeps working by default. */
  rotationOverlapDays: number;
  /** Keys expiring within this window are flagged `expiring_soon`. */
  expiryWarningDays: number;
  /** Default and maximum lifetime of admin tokens. */
  adminTokenTtlHours: number;
  adminTokenMaxTtlHours: number;
  now?: () => number;
}

/**
 * The admin plane: tenants, keys, admin tokens and the audit log. Tokens scoped to a tenant reach
 * only that tenant's keys and audit events; everything else needs a global token. Every change,
 * and every refusal for scope, is audited; revocations and tenant changes go on the change feed
 * that gateways follow.
 */
export function createAdminService(
  options: AdminServiceOptions,
): ServiceImpl<typeof AuthAdminService> {
  const { store, pepper, now = Date.now } = options;
  const warningMs = options.expiryWarningDays * dayMs;

  const audit = (ctx: HandlerContext, event: Omit<AuditEvent, "actor" | "source">) => {
    const { actor, source } = actorOf(ctx);
    return store.appendAudit({ ...event, actor, source });
  };
  const deny = async (ctx: HandlerContext, tenantId: string, message: string): Promise<never> => {
    await audit(ctx, {
      tenantId: tenantId || "-",
      action: ctx.method.name,
      target: tenantId || "-",
      result: "denied",
      detail: "out of scope",
    });
    throw new StrataError("permission_denied", message, { code: "admin_scope" });
  };
  /** Global tokens only. */
  const requireGlobal = async (ctx: HandlerContext) => {
    const { tenantScope } = actorOf(ctx);
    if (tenantScope)
      await deny(
        ctx,
        tenantScope,
        `This admin token is scoped to tenant '${tenantScope}' and cannot call ${ctx.method.name}.`,
      );
  };
  /** The tenant a scoped token may act on; for a global token, the one asked for. */
  const requireTenant = async (ctx: HandlerContext, tenantId: string) => {
    const { tenantScope } = actorOf(ctx);
    if (tenantScope && tenantId !== tenantScope) {
      await deny(ctx, tenantId, `This admin token is scoped to tenant '${tenantScope}'.`);
    }
  };
  const keyInScope = async (ctx: HandlerContext, keyId: string): Promise<KeyRecord> => {
    const key = await store.getKey(keyId);
    const { tenantScope } = actorOf(ctx);
    // A key outside the scope is reported as missing: a scoped token learns nothing of others.
    if (!key || (tenantScope && key.tenantId !== tenantScope)) {
      throw new StrataError("not_found", `Key '${keyId}' does not exist.`, { param: "key_id" });
    }
    return key;
  };
  const activeTenant = async (tenantId: string) => {
    const tenant = await store.getTenant(tenantId);
    if (!tenant)
      throw new StrataError("not_found", `Tenant '${tenantId}' does not exist.`, {
        param: "tenant_id",
      });
    if (tenant.status !== "active")
      throw invalidRequest("tenant_id", `Tenant '${tenantId}' is suspended.`);
    return tenant;
  };
  const issueKey = async (
    base: Omit<KeyRecord, "keyId" | "scheme" | "salt" | "hash" | "createdAt">,
    createdMs: number,
  ) => {
    const generated = generateKey();
    const record: KeyRecord = {
      ...base,
      keyId: generated.keyId,
      ...hashSecret(generated.secret, pepper),
      createdAt: new Date(createdMs).toISOString(),
    };
    await store.createKey(record);
    return { record, secret: generated.plaintext };
  };

  return {
    async createTenant(req, ctx) {
      await requireGlobal(ctx);
      if (!tenantIdPattern.test(req.tenantId)) {
        throw invalidRequest(
          "tenant_id",
          "Tenant ids are 1-63 lower-case letters, digits and dashes, starting and ending with a letter or digit.",
        );
      }
      validatePolicy(req.policy, "tenant");
      const tenant = {
        tenantId: req.tenantId,
        displayName: req.displayName || req.tenantId,
        status: "active" as const,
        policy: policyFromProto(req.policy),
        createdAt: new Date(now()).toISOString(),
      };
      await store.createTenant(tenant);
      await audit(ctx, {
        tenantId: tenant.tenantId,
        action: "tenant.create",
        target: tenant.tenantId,
        result: "success",
      });
      return { tenant: tenantToProto(tenant) };
    },
    async getTenant(req, ctx) {
      await requireTenant(ctx, req.tenantId);
      const tenant = await store.getTenant(req.tenantId);
      if (!tenant)
        throw new StrataError("not_found", `Tenant '${req.tenantId}' does not exist.`, {
          param: "tenant_id",
        });
      return { tenant: tenantToProto(tenant) };
    },
    async listTenants(_, ctx) {
      const { tenantScope } = actorOf(ctx);
      const tenants = (await store.listTenants()).filter(
        (t) => !tenantScope || t.tenantId === tenantScope,
      );
      tenants.sort((a, b) => a.tenantId.localeCompare(b.tenantId));
      return { tenants: tenants.map(tenantToProto) };
    },
    async updateTenant(req, ctx) {
      await requireGlobal(ctx);
      if (req.policy) validatePolicy(req.policy, "tenant");
      const status =
        req.status === TenantStatus.ACTIVE
          ? "active"
          : req.status === TenantStatus.SUSPENDED
            ? "suspended"
            : undefined;
      const tenant = await store.updateTenant(req.tenantId, {
        displayName: req.displayName,
        status,
        policy: req.policy ? policyFromProto(req.policy) : undefined,
      });
      if (!tenant)
        throw new StrataError("not_found", `Tenant '${req.tenantId}' does not exist.`, {
          param: "tenant_id",
        });
      await store.appendChange({ tenantId: tenant.tenantId });
      const changed = [
        req.displayName !== undefined && "name",
        status && `status=${status}`,
        req.policy && "policy",
      ].filter(Boolean);
      await audit(ctx, {
        tenantId: tenant.tenantId,
        action: "tenant.update",
        target: tenant.tenantId,
        result: "success",
        detail: changed.join(","),
      });
      return { tenant: tenantToProto(tenant) };
    },
    async createKey(req, ctx) {
      await requireTenant(ctx, req.tenantId);
      const tenant = await activeTenant(req.tenantId);
      if (req.name.length > 128)
        throw invalidRequest("name", "Key names are at most 128 characters.");
      const maxAgeSeconds = options.keyMaxAgeDays * 86_400;
      if (req.ttlSeconds > maxAgeSeconds) {
        throw invalidRequest(
          "ttl_seconds",
          `Keys live at most ${options.keyMaxAgeDays} days (${maxAgeSeconds} seconds).`,
        );
      }
      validatePolicy(req.policy, "key");
      const createdMs = now();
      const { record, secret } = await issueKey(
        {
          tenantId: tenant.tenantId,
          name: req.name || "unnamed",
          policy: policyFromProto(req.policy),
          expiresAtMs:
            createdMs +
            (req.ttlSeconds > 0 ? req.ttlSeconds * 1000 : options.keyMaxAgeDays * dayMs),
        },
        createdMs,
      );
      await audit(ctx, {
        tenantId: tenant.tenantId,
        action: "key.create",
        target: record.keyId,
        result: "success",
      });
      return { key: keyToProto(record, createdMs, warningMs), secret };
    },
    async getKey(req, ctx) {
      const key = await keyInScope(ctx, req.keyId);
      return { key: keyToProto(key, now(), warningMs) };
    },
    async listKeys(req, ctx) {
      const { tenantScope } = actorOf(ctx);
      if (req.tenantId) await requireTenant(ctx, req.tenantId);
      const keys = await store.listKeys(req.tenantId || tenantScope);
      keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      const at = now();
      return { keys: keys.map((k) => keyToProto(k, at, warningMs)) };
    },
    async rotateKey(req, ctx) {
      const old = await keyInScope(ctx, req.keyId);
      await activeTenant(old.tenantId);
      const at = now();
      if (old.revokedAtMs !== undefined || old.expiresAtMs <= at) {
        throw invalidRequest(
          "key_id",
          `Key '${req.keyId}' is revoked or expired; create a new key instead.`,
        );
      }
      if (old.rotatedToKeyId) {
        throw invalidRequest(
          "key_id",
          `Key '${req.keyId}' was already rotated to '${old.rotatedToKeyId}'.`,
        );
      }
      const maxAgeSeconds = options.keyMaxAgeDays * 86_400;
      if (req.ttlSeconds > maxAgeSeconds) {
        throw invalidRequest(
          "ttl_seconds",
          `Keys live at most ${options.keyMaxAgeDays} days (${maxAgeSeconds} seconds).`,
        );
      }
      const overlapMs = rotationOverlapMs(req, options.rotationOverlapDays * dayMs);
      const { record, secret } = await issueKey(
        {
          tenantId: old.tenantId,
          name: old.name,
          policy: old.policy,
          expiresAtMs: at + successorLifetimeMs(req, old, options.keyMaxAgeDays * dayMs),
          rotatedFromKeyId: old.keyId,
        },
        at,
      );
      const retired = await store.retireKey(
        old.keyId,
        Math.min(old.expiresAtMs, at + overlapMs),
        record.keyId,
      );
      if (!retired) {
        await store.revokeKey(record.keyId, at);
        throw new StrataError(
          "already_exists",
          `Key '${req.keyId}' was rotated or revoked meanwhile.`,
          { param: "key_id" },
        );
      }
      // Gateways may hold the old key with its old expiry: they drop it and ask again, and learn
      // the end of the overlap (at once, when there is none).
      await store.appendChange({ keyId: old.keyId });
      await audit(ctx, {
        tenantId: old.tenantId,
        action: "key.rotate",
        target: old.keyId,
        result: "success",
        detail: `successor ${record.keyId}, old key valid until ${new Date(retired.expiresAtMs).toISOString()}`,
      });
      return {
        key: keyToProto(record, at, warningMs),
        secret,
        previous: keyToProto(retired, at, warningMs),
      };
    },
    async revokeKey(req, ctx) {
      await keyInScope(ctx, req.keyId);
      const key = await store.revokeKey(req.keyId, now());
      if (!key)
        throw new StrataError("not_found", `Key '${req.keyId}' does not exist.`, {
          param: "key_id",
        });
      await store.appendChange({ keyId: key.keyId });
      await audit(ctx, {
        tenantId: key.tenantId,
        action: "key.revoke",
        target: key.keyId,
        result: "success",
      });
      return { key: keyToProto(key, now(), warningMs) };
    },
    async getUsage(req, ctx) {
      const { tenantScope } = actorOf(ctx);
      const tenantId = req.tenantId || tenantScope;
      if (tenantId) await requireTenant(ctx, tenantId);
      const queryUsage = options.queryUsage;
      if (!queryUsage) {
        throw new StrataError(
          "upstream_unavailable",
          "Usage reporting is not configured (STRATA_METERING_URL).",
        );
      }
      // A global admin without a tenant sees every tenant's, one tenant after the other.
      const tenantIds = tenantId
        ? [tenantId]
        : (await store.listTenants()).map((t) => t.tenantId).sort();
      const summaries = [];
      for (const id of tenantIds)
        summaries.push(
          ...(await queryUsage({ tenantId: id, sinceDay: req.sinceDay, untilDay: req.untilDay })),
        );
      return { summaries };
    },
    async listAuditEvents(req, ctx) {
      const { tenantScope } = actorOf(ctx);
      if (req.tenantId) await requireTenant(ctx, req.tenantId);
      const limit = Math.min(req.limit || 100, 1000);
      const events = await store.listAudit({
        tenantId: req.tenantId || tenantScope,
        sinceMs: req.sinceMs,
        limit,
      });
      return { events: events.map(auditEventToProto) };
    },
    async createAdminToken(req, ctx) {
      await requireGlobal(ctx);
      if (req.tenantId) await activeTenant(req.tenantId);
      const maxSeconds = options.adminTokenMaxTtlHours * 3600;
      if (req.ttlSeconds > maxSeconds) {
        throw invalidRequest(
          "ttl_seconds",
          `Admin tokens live at most ${options.adminTokenMaxTtlHours} hours.`,
        );
      }
      const at = now();
      const generated = generateKey(adminTokenPrefix);
      const record = {
        tokenId: generated.keyId,
        name: req.name || "unnamed",
        tenantId: req.tenantId,
        ...hashSecret(generated.secret, pepper),
        createdAtMs: at,
        expiresAtMs:
          at +
          (req.ttlSeconds > 0 ? req.ttlSeconds * 1000 : options.adminTokenTtlHours * 3_600_000),
      };
      await store.createAdminToken(record);
      await audit(ctx, {
        tenantId: req.tenantId || "-",
        action: "admin_token.create",
        target: record.tokenId,
        result: "success",
      });
      return { token: adminTokenToProto(record), secret: generated.plaintext };
    },
    async listAdminTokens(_, ctx) {
      await requireGlobal(ctx);
      const tokens = await store.listAdminTokens();
      tokens.sort((a, b) => a.createdAtMs - b.createdAtMs);
      return { tokens: tokens.map(adminTokenToProto) };
    },
    async revokeAdminToken(req, ctx) {
      await requireGlobal(ctx);
      const token = await store.revokeAdminToken(req.tokenId, now());
      if (!token)
        throw new StrataError("not_found", `Admin token '${req.tokenId}' does not exist.`, {
          param: "token_id",
        });
      await audit(ctx, {
        tenantId: token.tenantId || "-",
        action: "admin_token.revoke",
        target: token.tokenId,
        result: "success",
      });
      return { token: adminTokenToProto(token) };
    },
  };
}

/**
 * How long a rotated key keeps working: none with `no_overlap`, the request's overlap, or the
 * default — never past the key's own expiry (the caller caps it).
 */
export function rotationOverlapMs(
  req: { overlapSeconds: number; noOverlap: boolean },
  defaultMs: number,
): number {
  if (req.noOverlap) return 0;
  return req.overlapSeconds > 0 ? req.overlapSeconds * 1000 : defaultMs;
}

/**
 * The lifetime of a rotated key's successor: the request's, or else the old key's own (its
 * expiry minus its creation), so that a 30-day key stays a 30-day key; within the maximum age.
 */
export function successorLifetimeMs(
  req: { ttlSeconds: number },
  old: { createdAt: string; expiresAtMs: number },
  maxAgeMs: number,
): number {
  if (req.ttlSeconds > 0) return req.ttlSeconds * 1000;
  const lifetime = old.expiresAtMs - Date.parse(old.createdAt);
  return Number.isFinite(lifetime) && lifetime > 0 ? Math.min(lifetime, maxAgeMs) : maxAgeMs;
}
