import { equals, fromJson, type JsonObject, toJson } from "@bufbuild/protobuf";
import { BudgetPeriod, PolicySchema, SecretsMode, TenantStatus } from "@strata/proto";
import { describe, expect, it } from "vitest";
import {
  canonicalJson,
  keyPolicyToProto,
  tenantPolicyToProto,
  tenantToDesired,
} from "./policy-mapping.ts";
import type { TenantPolicySpec } from "./resources.ts";

const fullPolicy: TenantPolicySpec = {
  allowedModels: ["claude-*", "titan-embed-v2"],
  allowedEndpoints: ["chat.completions", "embeddings"],
  allowedSourceCidrs: ["10.0.0.0/8", "2001:db8::/32"],
  allowedRegions: ["eu", "eu-west-1"],
  toolPolicy: {
    enforced: true,
    allowed: [
      { name: "fs_read", argumentsSchema: { type: "object", required: ["path"], properties: {} } },
      { name: "search_*" },
    ],
  },
  secrets: "Redact",
  contentLogging: true,
  guardrail: { identifier: "gr-123", version: "DRAFT" },
  crossAccount: { roleArn: "arn:aws:iam::123456789012:role/strata", externalId: "ext-1" },
  limits: {
    rate: { requestsPerMinute: 600, tokensPerMinute: 100_000 },
    models: [{ model: "claude-*", limits: { maxConcurrentRequests: 4 } }, { model: "titan-*" }],
    budget: { period: "Month", tokens: 5_000_000, costMicros: 250_000_000 },
  },
};

/** What auth does with a policy: stores its proto JSON and parses it back. */
const throughAuth = (policy: ReturnType<typeof tenantPolicyToProto>) =>
  fromJson(PolicySchema, toJson(PolicySchema, policy) as JsonObject, {
    ignoreUnknownFields: true,
  });

describe("Tenant and ApiKey policy to strata.auth.v1.Policy", () => {
  it("maps every field of a tenant policy", () => {
    const p = tenantPolicyToProto(fullPolicy);
    expect(p.allowedModels).toEqual(["claude-*", "titan-embed-v2"]);
    expect(p.allowedEndpoints).toEqual(["chat.completions", "embeddings"]);
    expect(p.allowedSourceCidrs).toEqual(["10.0.0.0/8", "2001:db8::/32"]);
    expect(p.allowedRegions).toEqual(["eu", "eu-west-1"]);
    expect(p.toolPolicy?.enforced).toBe(true);
    expect(p.toolPolicy?.allowed.map((r) => r.name)).toEqual(["fs_read", "search_*"]);
    expect(JSON.parse(p.toolPolicy?.allowed[0]?.argumentsSchemaJson ?? "")).toEqual({
      type: "object",
      required: ["path"],
      properties: {},
    });
    expect(p.toolPolicy?.allowed[1]?.argumentsSchemaJson).toBe("");
    expect(p.secrets).toBe(SecretsMode.REDACT);
    expect(p.contentLogging).toBe(true);
    expect(p.guardrail).toMatchObject({ identifier: "gr-123", version: "DRAFT" });
    expect(p.crossAccount).toMatchObject({
      roleArn: "arn:aws:iam::123456789012:role/strata",
      externalId: "ext-1",
    });
    expect(p.limits?.rate).toMatchObject({
      requestsPerMinute: 600,
      tokensPerMinute: 100_000,
      maxConcurrentRequests: 0,
    });
    expect(p.limits?.models[0]?.limits?.maxConcurrentRequests).toBe(4);
    expect(p.limits?.models[1]?.limits).toBeUndefined();
    expect(p.limits?.budget).toMatchObject({
      period: BudgetPeriod.MONTH,
      tokens: 5_000_000,
      costMicros: 250_000_000,
    });
  });

  it.each([
    [undefined, SecretsMode.UNSPECIFIED],
    ["Off", SecretsMode.UNSPECIFIED],
    ["Block", SecretsMode.BLOCK],
    ["Redact", SecretsMode.REDACT],
  ] as const)("maps secrets %s to %s", (mode, expected) => {
    expect(keyPolicyToProto({ secrets: mode }).secrets).toBe(expected);
  });

  it.each([
    ["Day", BudgetPeriod.DAY],
    ["Month", BudgetPeriod.MONTH],
    [undefined, BudgetPeriod.UNSPECIFIED],
  ] as const)("maps budget period %s to %s", (period, expected) => {
    expect(keyPolicyToProto({ limits: { budget: { period } } }).limits?.budget?.period).toBe(
      expected,
    );
  });

  it("leaves absent sections unset rather than empty", () => {
    const p = tenantPolicyToProto({});
    expect(p.toolPolicy).toBeUndefined();
    expect(p.limits).toBeUndefined();
    expect(p.guardrail).toBeUndefined();
    expect(p.crossAccount).toBeUndefined();
    expect(toJson(PolicySchema, p)).toEqual({});
    expect(toJson(PolicySchema, tenantPolicyToProto(undefined))).toEqual({});
  });

  it("reads back equal after auth stores it, so an unchanged Tenant causes no update", () => {
    for (const policy of [
      fullPolicy,
      {},
      { toolPolicy: {} },
      { limits: { rate: {} } },
      { limits: { budget: { period: "Day" as const } } },
    ]) {
      const p = tenantPolicyToProto(policy);
      expect(equals(PolicySchema, throughAuth(p), p)).toBe(true);
    }
  });

  it("sees a changed policy as different", () => {
    const a = tenantPolicyToProto(fullPolicy);
    const b = tenantPolicyToProto({ ...fullPolicy, allowedModels: ["claude-*"] });
    expect(equals(PolicySchema, throughAuth(a), b)).toBe(false);
  });

  it("serialises an arguments schema the same whatever its key order", () => {
    const a = keyPolicyToProto({
      toolPolicy: {
        allowed: [{ name: "t", argumentsSchema: { b: 1, a: { d: [1, { z: 0, y: 1 }], c: 2 } } }],
      },
    });
    const b = keyPolicyToProto({
      toolPolicy: {
        allowed: [{ name: "t", argumentsSchema: { a: { c: 2, d: [1, { y: 1, z: 0 }] }, b: 1 } }],
      },
    });
    expect(a.toolPolicy?.allowed[0]?.argumentsSchemaJson).toBe(
      b.toolPolicy?.allowed[0]?.argumentsSchemaJson,
    );
    expect(canonicalJson({ b: [2, 1], a: null })).toBe('{"a":null,"b":[2,1]}');
  });

  it("never sends tenant-only fields on a key, even if an object carried them", () => {
    const p = keyPolicyToProto({ ...fullPolicy } as never);
    expect(p.guardrail).toBeUndefined();
    expect(p.crossAccount).toBeUndefined();
    expect(p.contentLogging).toBe(false);
    expect(p.allowedModels).toEqual(fullPolicy.allowedModels);
  });

  it("uses the object name as tenant id, and as display name when none is given", () => {
    expect(tenantToDesired("acme", undefined)).toMatchObject({
      tenantId: "acme",
      displayName: "acme",
      status: TenantStatus.ACTIVE,
    });
    expect(tenantToDesired("acme", { displayName: "ACME", state: "Suspended" })).toMatchObject({
      displayName: "ACME",
      status: TenantStatus.SUSPENDED,
    });
  });
});
