import { create, fromJson, type JsonObject, toJson } from "@bufbuild/protobuf";
import {
  type AdminToken,
  AdminTokenSchema,
  type ApiKey,
  ApiKeySchema,
  type AuditEvent as AuditEventProto,
  AuditEventSchema,
  KeyStatus,
  type Policy,
  PolicySchema,
  type Tenant,
  TenantSchema,
  TenantStatus,
} from "@strata/proto";
import { displayPrefix } from "./api-key.ts";
import type {
  AdminTokenRecord,
  KeyRecord,
  StoredAuditEvent,
  StoredPolicy,
  TenantRecord,
} from "./store.ts";

/** Policies are stored as their proto JSON, so every field of the contract round-trips. */
export function policyToProto(policy: StoredPolicy | undefined): Policy {
  return fromJson(PolicySchema, (policy ?? {}) as JsonObject, { ignoreUnknownFields: true });
}

export function policyFromProto(policy: Policy | undefined): StoredPolicy {
  return toJson(PolicySchema, policy ?? create(PolicySchema)) as StoredPolicy;
}

export function tenantToProto(tenant: TenantRecord): Tenant {
  return create(TenantSchema, {
    tenantId: tenant.tenantId,
    displayName: tenant.displayName,
    status: tenant.status === "active" ? TenantStatus.ACTIVE : TenantStatus.SUSPENDED,
    policy: policyToProto(tenant.policy),
    createdAtMs: Date.parse(tenant.createdAt),
  });
}

/** A key's status at a given time: revocation wins over expiry. */
export function keyStatus(key: KeyRecord, nowMs: number): KeyStatus {
  if (key.revokedAtMs !== undefined && key.revokedAtMs <= nowMs) return KeyStatus.REVOKED;
  if (key.expiresAtMs > 0 && key.expiresAtMs <= nowMs) return KeyStatus.EXPIRED;
  return KeyStatus.ACTIVE;
}

/** Key metadata for listings: never the hash or salt. */
export function keyToProto(key: KeyRecord, nowMs: number, warningMs: number): ApiKey {
  const status = keyStatus(key, nowMs);
  return create(ApiKeySchema, {
    keyId: key.keyId,
    tenantId: key.tenantId,
    name: key.name,
    status,
    createdAtMs: Date.parse(key.createdAt),
    expiresAtMs: key.expiresAtMs,
    revokedAtMs: key.revokedAtMs ?? 0,
    policy: policyToProto(key.policy),
    displayPrefix: displayPrefix(key.keyId),
    rotatedToKeyId: key.rotatedToKeyId ?? "",
    rotatedFromKeyId: key.rotatedFromKeyId ?? "",
    expiringSoon:
      status === KeyStatus.ACTIVE && key.expiresAtMs > 0 && key.expiresAtMs - nowMs <= warningMs,
  });
}

export function adminTokenToProto(token: AdminTokenRecord): AdminToken {
  return create(AdminTokenSchema, {
    tokenId: token.tokenId,
    name: token.name,
    tenantId: token.tenantId,
    createdAtMs: token.createdAtMs,
    expiresAtMs: token.expiresAtMs,
    revokedAtMs: token.revokedAtMs ?? 0,
  });
}

export function auditEventToProto(event: StoredAuditEvent): AuditEventProto {
  return create(AuditEventSchema, {
    atMs: Date.parse(event.at),
    tenantId: event.tenantId,
    actor: event.actor,
    action: event.action,
    target: event.target,
    result: event.result,
    source: event.source,
    detail: event.detail ?? "",
  });
}
