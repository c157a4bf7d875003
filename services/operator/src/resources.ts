/**
 * The Tenant and ApiKey custom resources (group strata.dev, version v1alpha1) as the strata-crds
 * chart defines them (deploy/helm/strata-crds/templates): that schema is the contract, and these
 * types follow it field by field. The API server has already validated every object against it.
 */

export const group = "strata.dev";
export const version = "v1alpha1";
export const apiVersion = `${group}/${version}`;

/** The finalizer both kinds carry while the operator owns something in auth for them. */
export const finalizer = "strata.dev/operator";
/** The field manager / reporting controller name. */
export const controllerName = "strata.dev/operator";

/** metav1.ObjectMeta, the fields the operator reads or writes. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface RateLimitsSpec {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  maxConcurrentRequests?: number;
}

export interface LimitsSpec {
  rate?: RateLimitsSpec;
  models?: Array<{ model: string; limits?: RateLimitsSpec }>;
  budget?: { period?: "Day" | "Month"; tokens?: number; costMicros?: number };
}

/** A key's policy: it can only narrow its tenant's. */
export interface KeyPolicySpec {
  allowedModels?: string[];
  allowedEndpoints?: string[];
  allowedSourceCidrs?: string[];
  allowedRegions?: string[];
  toolPolicy?: {
    enforced?: boolean;
    allowed?: Array<{ name: string; argumentsSchema?: Record<string, unknown> }>;
  };
  secrets?: "Off" | "Block" | "Redact";
  rejectExcessMaxTokens?: boolean;
  limits?: LimitsSpec;
}

/** A tenant's policy: a key's fields plus the tenant-only ones. */
export interface TenantPolicySpec extends KeyPolicySpec {
  contentLogging?: boolean;
  guardrail?: { identifier: string; version: string };
  crossAccount?: { roleArn: string; externalId: string };
}

export interface TenantSpec {
  displayName?: string;
  state?: "Active" | "Suspended";
  allowedNamespaces?: string[];
  policy?: TenantPolicySpec;
}

export interface TenantStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  usage?: { period?: string; tokens?: number; costMicros?: number; refreshedAt?: string };
}

export interface Tenant {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: TenantSpec;
  status?: TenantStatus;
}

export interface ApiKeySpec {
  tenant: string;
  secretName: string;
  displayName?: string;
  expiresAfterDays?: number;
  rotation?: { periodDays: number; overlapDays?: number };
  policy?: KeyPolicySpec;
}

export interface ApiKeyStatus {
  observedGeneration?: number;
  keyId?: string;
  previousKeyId?: string;
  createdAt?: string;
  expiresAt?: string;
  rotatedAt?: string;
  conditions?: Condition[];
}

export interface ApiKey {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: ApiKeySpec;
  status?: ApiKeyStatus;
}

/** core/v1 Secret, the fields the operator reads or writes (data values are base64). */
export interface Secret {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
}
