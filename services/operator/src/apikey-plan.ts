import type { SecretState } from "./key-secret.ts";
import type { ApiKeySpec } from "./resources.ts";
import { keyTtlSeconds, nextRotationAt, overlapMs, rotateOverlapSeconds } from "./rotation.ts";

/** The auth key an ApiKey currently delivers, as auth's GetKey describes it. */
export interface CurrentKey {
  keyId: string;
  /** "missing": auth does not know it (deleted data, another installation). */
  status: "active" | "revoked" | "expired" | "missing";
  /** Same tenant and name as this ApiKey's keys (`k8s/<namespace>/<name>`). */
  belongs: boolean;
  /** Its policy is the one spec.policy asks for. */
  policyMatches: boolean;
  /** Someone rotated it outside the operator: its successor's plaintext is not ours. */
  rotatedElsewhere: boolean;
  createdAtMs: number;
  expiresAtMs: number;
}

/** What the plan needs to know about the ApiKey's tenant. */
export interface TenantView {
  exists: boolean;
  active: boolean;
  allowsNamespace: boolean;
}

/** Why a new key is issued (and the Event reason that says so). */
export type IssueReason =
  | "Created"
  | "SecretMissing"
  | "SecretModified"
  | "KeyRevoked"
  | "KeyExpired"
  | "KeyMissing"
  | "PolicyChanged"
  | "RotatedElsewhere";

/** Why no key can be delivered (the Ready=False reason). */
export type BlockReason =
  | "TenantNotFound"
  | "NamespaceNotAllowed"
  | "SecretConflict"
  | "TenantSuspended";

export type ApiKeyPlan =
  /** Deliver nothing; with `revoke`, revoke what was delivered and delete the Secret. */
  | { action: "block"; reason: BlockReason; message: string; revoke: boolean }
  /** Create a new key (CreateKey), write it, then revoke `revokeKeyId` if set. */
  | { action: "issue"; reason: IssueReason; message: string; revokeKeyId?: string }
  /** Rotate the current key (RotateKey): the old one keeps working for the overlap. */
  | { action: "rotate"; keyId: string; overlapSeconds: number; ttlSeconds: number }
  /** Nothing to do but rewrite the Secret's other fields if `refreshSecret`. */
  | { action: "keep"; keyId: string; refreshSecret: boolean; nextRotationAtMs?: number };

/** Inputs of planApiKey. */
export interface ApiKeyPlanInput {
  namespace: string;
  spec: ApiKeySpec;
  tenant: TenantView;
  secret: SecretState;
  /** The key the Secret holds (intact) or else the one the status names; undefined: none yet. */
  current: CurrentKey | undefined;
  now: number;
  /** Length of a day in ms (86 400 000 except under the test-only override). */
  dayMs: number;
}

/**
 * The key id the ApiKey currently delivers: the one in its Secret when the Secret is intact (so a
 * crash between writing the Secret and the status loses nothing), else the one its status names,
 * else the one annotated on a tampered Secret.
 */
export function currentKeyId(
  secret: SecretState,
  statusKeyId: string | undefined,
): string | undefined {
  if (secret.state === "intact") return secret.keyId;
  if (statusKeyId) return statusKeyId;
  return secret.state === "tampered" ? secret.annotatedKeyId : undefined;
}

/**
 * Decides what to do for an ApiKey — pure, so every case is tested as a table. In order:
 * the tenant must exist and allow the namespace (else nothing is delivered, and a key delivered
 * before is revoked); a Secret of that name owned by someone else is never touched; a suspended
 * tenant gets no new key. Then a key is issued when there is none, when auth no longer accepts it
 * (revoked, expired, missing), when the Secret was deleted or edited (the plaintext cannot be
 * recovered: a fresh key replaces it and the old one is revoked), or when spec.policy changed (a
 * key's policy is fixed at creation). Otherwise it is rotated when due, or kept.
 */
export function planApiKey(input: ApiKeyPlanInput): ApiKeyPlan {
  const { spec, tenant, secret, current, namespace } = input;
  if (!tenant.exists) {
    return {
      action: "block",
      reason: "TenantNotFound",
      message: `Tenant '${spec.tenant}' does not exist.`,
      revoke: false,
    };
  }
  if (!tenant.allowsNamespace) {
    return {
      action: "block",
      reason: "NamespaceNotAllowed",
      message: `Tenant '${spec.tenant}' does not list namespace '${namespace}' in spec.allowedNamespaces.`,
      revoke: true,
    };
  }
  if (secret.state === "foreign") {
    return {
      action: "block",
      reason: "SecretConflict",
      message: `Secret '${spec.secretName}' exists and is not managed by this ApiKey; choose another secretName or delete it.`,
      revoke: false,
    };
  }
  if (!tenant.active) {
    return {
      action: "block",
      reason: "TenantSuspended",
      message: `Tenant '${spec.tenant}' is suspended: its keys are refused.`,
      revoke: false,
    };
  }
  if (!current) return { action: "issue", reason: "Created", message: "Issued a new key." };
  switch (current.status) {
    case "missing":
      return {
        action: "issue",
        reason: "KeyMissing",
        message: `Key ${current.keyId} is unknown to auth; issued a new key.`,
      };
    case "revoked":
      return {
        action: "issue",
        reason: "KeyRevoked",
        message: `Key ${current.keyId} was revoked outside the operator; issued a new key.`,
      };
    case "expired":
      return {
        action: "issue",
        reason: "KeyExpired",
        message: `Key ${current.keyId} expired; issued a new key.`,
      };
    case "active":
      break;
    default: {
      const never: never = current.status;
      throw new Error(`unknown key status ${String(never)}`);
    }
  }
  if (!current.belongs) {
    // Not this ApiKey's key (e.g. another key pasted into the Secret): replace it, revoke nothing.
    return {
      action: "issue",
      reason: "SecretModified",
      message: `Secret '${spec.secretName}' held key ${current.keyId}, which is not this ApiKey's; issued a new key.`,
    };
  }
  if (secret.state === "missing") {
    return {
      action: "issue",
      reason: "SecretMissing",
      message: `Secret '${spec.secretName}' was deleted; issued a new key and revoked ${current.keyId}.`,
      revokeKeyId: current.keyId,
    };
  }
  if (secret.state === "tampered") {
    return {
      action: "issue",
      reason: "SecretModified",
      message: `Secret '${spec.secretName}' was edited; issued a new key and revoked ${current.keyId}.`,
      revokeKeyId: current.keyId,
    };
  }
  if (!current.policyMatches) {
    return {
      action: "issue",
      reason: "PolicyChanged",
      message: `spec.policy changed; issued a key with the new policy and revoked ${current.keyId}.`,
      revokeKeyId: current.keyId,
    };
  }
  if (current.rotatedElsewhere) {
    return {
      action: "issue",
      reason: "RotatedElsewhere",
      message: `Key ${current.keyId} was rotated outside the operator; issued a new key (the old one stops at the end of that rotation's overlap).`,
    };
  }
  const due = nextRotationAt(spec, current, input.dayMs);
  if (due !== undefined && input.now >= due) {
    return {
      action: "rotate",
      keyId: current.keyId,
      overlapSeconds: rotateOverlapSeconds(overlapMs(spec, input.dayMs)),
      ttlSeconds: keyTtlSeconds(spec, input.dayMs),
    };
  }
  return {
    action: "keep",
    keyId: current.keyId,
    refreshSecret: secret.state === "intact" && secret.stale,
    ...(due !== undefined ? { nextRotationAtMs: due } : {}),
  };
}
