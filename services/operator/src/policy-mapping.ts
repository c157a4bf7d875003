import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  BudgetPeriod,
  CrossAccountRoleSchema,
  GuardrailSchema,
  type LimitsSchema,
  type Policy,
  PolicySchema,
  type RateLimitsSchema,
  SecretsMode,
  TenantStatus,
} from "@strata/proto";
import type {
  KeyPolicySpec,
  LimitsSpec,
  RateLimitsSpec,
  TenantPolicySpec,
  TenantSpec,
} from "./resources.ts";

/**
 * JSON with object keys sorted at every level, so the same schema always serialises to the same
 * string (the API server may hand back `argumentsSchema` keys in another order than written, and
 * a different string would look like a policy change).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** CRD `secrets` (Off/Block/Redact) to strata.auth.v1.SecretsMode; unset and Off check nothing. */
export function secretsModeToProto(mode: KeyPolicySpec["secrets"]): SecretsMode {
  switch (mode) {
    case undefined:
    case "Off":
      return SecretsMode.UNSPECIFIED;
    case "Block":
      return SecretsMode.BLOCK;
    case "Redact":
      return SecretsMode.REDACT;
    default: {
      const never: never = mode;
      throw new Error(`unknown secrets mode ${String(never)}`);
    }
  }
}

/** CRD budget period (Day/Month) to strata.common.v1.BudgetPeriod; unset is unspecified. */
export function budgetPeriodToProto(period: "Day" | "Month" | undefined): BudgetPeriod {
  switch (period) {
    case undefined:
      return BudgetPeriod.UNSPECIFIED;
    case "Day":
      return BudgetPeriod.DAY;
    case "Month":
      return BudgetPeriod.MONTH;
    default: {
      const never: never = period;
      throw new Error(`unknown budget period ${String(never)}`);
    }
  }
}

/** CRD `state` to strata.auth.v1.TenantStatus; the CRD defaults it to Active. */
export function tenantStateToProto(state: TenantSpec["state"]): TenantStatus {
  switch (state) {
    case undefined:
    case "Active":
      return TenantStatus.ACTIVE;
    case "Suspended":
      return TenantStatus.SUSPENDED;
    default: {
      const never: never = state;
      throw new Error(`unknown tenant state ${String(never)}`);
    }
  }
}

function rateLimitsInit(rate: RateLimitsSpec): MessageInitShape<typeof RateLimitsSchema> {
  return {
    requestsPerMinute: rate.requestsPerMinute ?? 0,
    tokensPerMinute: rate.tokensPerMinute ?? 0,
    maxConcurrentRequests: rate.maxConcurrentRequests ?? 0,
  };
}

function limitsInit(limits: LimitsSpec): MessageInitShape<typeof LimitsSchema> {
  return {
    ...(limits.rate ? { rate: rateLimitsInit(limits.rate) } : {}),
    models: (limits.models ?? []).map((m) => ({
      model: m.model,
      ...(m.limits ? { limits: rateLimitsInit(m.limits) } : {}),
    })),
    ...(limits.budget
      ? {
          budget: {
            period: budgetPeriodToProto(limits.budget.period),
            tokens: limits.budget.tokens ?? 0,
            costMicros: limits.budget.costMicros ?? 0,
          },
        }
      : {}),
  };
}

function keyPolicyInit(policy: KeyPolicySpec): MessageInitShape<typeof PolicySchema> {
  return {
    allowedModels: policy.allowedModels ?? [],
    allowedEndpoints: policy.allowedEndpoints ?? [],
    allowedSourceCidrs: policy.allowedSourceCidrs ?? [],
    allowedRegions: policy.allowedRegions ?? [],
    ...(policy.toolPolicy
      ? {
          toolPolicy: {
            enforced: policy.toolPolicy.enforced ?? false,
            allowed: (policy.toolPolicy.allowed ?? []).map((rule) => ({
              name: rule.name,
              argumentsSchemaJson: rule.argumentsSchema ? canonicalJson(rule.argumentsSchema) : "",
            })),
          },
        }
      : {}),
    secrets: secretsModeToProto(policy.secrets),
    rejectExcessMaxTokens: policy.rejectExcessMaxTokens ?? false,
    ...(policy.limits ? { limits: limitsInit(policy.limits) } : {}),
  };
}

/**
 * A Tenant's `spec.policy` as strata.auth.v1.Policy. Sub-messages are set only when the CRD sets
 * them, so that the policy auth stores (as proto JSON) reads back equal to this one and an
 * unchanged Tenant never causes an update.
 */
export function tenantPolicyToProto(policy: TenantPolicySpec | undefined): Policy {
  const p = policy ?? {};
  const proto = keyPolicyToProto(p);
  proto.contentLogging = p.contentLogging ?? false;
  if (p.guardrail) {
    proto.guardrail = create(GuardrailSchema, {
      identifier: p.guardrail.identifier,
      version: p.guardrail.version,
    });
  }
  if (p.crossAccount) {
    proto.crossAccount = create(CrossAccountRoleSchema, {
      roleArn: p.crossAccount.roleArn,
      externalId: p.crossAccount.externalId,
    });
  }
  return proto;
}

/**
 * An ApiKey's `spec.policy` as strata.auth.v1.Policy: it narrows the tenant's. The key schema has
 * no tenant-only fields (guardrail, cross-account role, content logging), and none are sent.
 */
export function keyPolicyToProto(policy: KeyPolicySpec | undefined): Policy {
  return create(PolicySchema, keyPolicyInit(policy ?? {}));
}

/** What auth should hold for a Tenant: its id, display name, status and policy. */
export interface DesiredTenant {
  tenantId: string;
  displayName: string;
  status: TenantStatus;
  policy: Policy;
}

/** The auth tenant a Tenant object describes (the object's name is the tenant id). */
export function tenantToDesired(name: string, spec: TenantSpec | undefined): DesiredTenant {
  return {
    tenantId: name,
    displayName: spec?.displayName || name,
    status: tenantStateToProto(spec?.state),
    policy: tenantPolicyToProto(spec?.policy),
  };
}
