import { create } from "@bufbuild/protobuf";
import {
  type ApiKey,
  ApiKeySchema,
  KeyStatus,
  type Policy,
  PolicySchema,
  type Tenant,
  TenantSchema,
  TenantStatus,
} from "@strata/proto";
import { displayPrefix } from "./api-key.ts";
import type { KeyRecord, StoredPolicy, TenantRecord } from "./store.ts";

export function policyToProto(policy: StoredPolicy | undefined): Policy {
  return create(PolicySchema, {
    allowedModels: policy?.allowedModels ?? [],
    allowedEndpoints: policy?.allowedEndpoints ?? [],
  });
}

export function policyFromProto(policy: Policy | undefined): StoredPolicy {
  return {
    allowedModels: [...(policy?.allowedModels ?? [])],
    allowedEndpoints: [...(policy?.allowedEndpoints ?? [])],
  };
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
export function keyToProto(key: KeyRecord, nowMs: number): ApiKey {
  return create(ApiKeySchema, {
    keyId: key.keyId,
    tenantId: key.tenantId,
    name: key.name,
    status: keyStatus(key, nowMs),
    createdAtMs: Date.parse(key.createdAt),
    expiresAtMs: key.expiresAtMs,
    revokedAtMs: key.revokedAtMs ?? 0,
    policy: policyToProto(key.policy),
    displayPrefix: displayPrefix(key.keyId),
  });
}
