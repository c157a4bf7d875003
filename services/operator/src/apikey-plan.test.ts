import { describe, expect, it } from "vitest";
import { type ApiKeyPlanInput, type CurrentKey, currentKeyId, planApiKey } from "./apikey-plan.ts";

const day = 86_400_000;
const t0 = Date.UTC(2026, 0, 1);
const active: CurrentKey = {
  keyId: "K1",
  status: "active",
  belongs: true,
  policyMatches: true,
  rotatedElsewhere: false,
  createdAtMs: t0,
  expiresAtMs: t0 + 90 * day,
};
const base: ApiKeyPlanInput = {
  namespace: "team-a",
  spec: { tenant: "acme", secretName: "s" },
  tenant: { exists: true, active: true, allowsNamespace: true },
  secret: { state: "intact", keyId: "K1", stale: false },
  current: active,
  now: t0 + day,
  dayMs: day,
};
const plan = (change: Partial<ApiKeyPlanInput>) => planApiKey({ ...base, ...change });

describe("what the operator does for an ApiKey", () => {
  it.each([
    [
      "the tenant does not exist",
      { tenant: { exists: false, active: false, allowsNamespace: false } },
      "TenantNotFound",
      false,
    ],
    [
      "the tenant does not allow the namespace",
      { tenant: { exists: true, active: true, allowsNamespace: false } },
      "NamespaceNotAllowed",
      true,
    ],
    [
      "another owner's Secret has the name",
      { secret: { state: "foreign" as const } },
      "SecretConflict",
      false,
    ],
    [
      "the tenant is suspended",
      { tenant: { exists: true, active: false, allowsNamespace: true } },
      "TenantSuspended",
      false,
    ],
  ])("delivers nothing when %s (%s)", (_, change, reason, revoke) => {
    expect(plan(change)).toMatchObject({ action: "block", reason, revoke });
  });

  it("checks the namespace before the Secret: a disallowed namespace never gets a key", () => {
    expect(
      plan({
        tenant: { exists: true, active: true, allowsNamespace: false },
        secret: { state: "foreign" },
      }),
    ).toMatchObject({ reason: "NamespaceNotAllowed" });
  });

  it.each([
    [
      "no key yet",
      { current: undefined, secret: { state: "missing" as const } },
      "Created",
      undefined,
    ],
    [
      "auth no longer knows the key",
      { current: { ...active, status: "missing" as const } },
      "KeyMissing",
      undefined,
    ],
    [
      "the key was revoked out of band",
      { current: { ...active, status: "revoked" as const } },
      "KeyRevoked",
      undefined,
    ],
    [
      "the key expired",
      { current: { ...active, status: "expired" as const } },
      "KeyExpired",
      undefined,
    ],
    ["the Secret was deleted", { secret: { state: "missing" as const } }, "SecretMissing", "K1"],
    [
      "the Secret's key was edited",
      { secret: { state: "tampered" as const, annotatedKeyId: "K1" } },
      "SecretModified",
      "K1",
    ],
    [
      "the Secret holds another ApiKey's key",
      { current: { ...active, belongs: false } },
      "SecretModified",
      undefined,
    ],
    [
      "spec.policy changed",
      { current: { ...active, policyMatches: false } },
      "PolicyChanged",
      "K1",
    ],
    [
      "the key was rotated outside the operator",
      { current: { ...active, rotatedElsewhere: true } },
      "RotatedElsewhere",
      undefined,
    ],
  ])("issues a new key when %s (%s), revoking %s", (_, change, reason, revokeKeyId) => {
    const p = plan(change);
    expect(p).toMatchObject({ action: "issue", reason });
    expect(p.action === "issue" ? p.revokeKeyId : "n/a").toBe(revokeKeyId);
  });

  it("reissues a revoked key even when its Secret was also deleted, and revokes nothing more", () => {
    expect(
      plan({ current: { ...active, status: "revoked" }, secret: { state: "missing" } }),
    ).toMatchObject({
      action: "issue",
      reason: "KeyRevoked",
    });
  });

  it("keeps an intact key until its rotation is due, and says when that is", () => {
    const spec = { ...base.spec, rotation: { periodDays: 30 } };
    expect(plan({ spec, now: t0 + 30 * day - 1 })).toEqual({
      action: "keep",
      keyId: "K1",
      refreshSecret: false,
      nextRotationAtMs: t0 + 30 * day,
    });
    expect(plan({ spec, now: t0 + 30 * day })).toEqual({
      action: "rotate",
      keyId: "K1",
      overlapSeconds: 14 * 86_400,
      ttlSeconds: 0,
    });
  });

  it("rotates with the asked overlap and lifetime, and a zero overlap as one second", () => {
    const spec = {
      ...base.spec,
      expiresAfterDays: 60,
      rotation: { periodDays: 7, overlapDays: 0 },
    };
    expect(plan({ spec, now: t0 + 7 * day })).toEqual({
      action: "rotate",
      keyId: "K1",
      overlapSeconds: 1,
      ttlSeconds: 60 * 86_400,
    });
  });

  it("renews a key without rotation before it expires", () => {
    expect(plan({ now: t0 + 76 * day })).toMatchObject({
      action: "rotate",
      overlapSeconds: 14 * 86_400,
    });
    expect(plan({ now: t0 + 76 * day - 1 })).toMatchObject({ action: "keep" });
  });

  it("rewrites a stale Secret's other fields without a new key", () => {
    expect(plan({ secret: { state: "intact", keyId: "K1", stale: true } })).toMatchObject({
      action: "keep",
      refreshSecret: true,
    });
  });
});

describe("which key an ApiKey delivers", () => {
  it("trusts an intact Secret over the status (a crash after writing the Secret loses nothing)", () => {
    expect(currentKeyId({ state: "intact", keyId: "K2", stale: false }, "K1")).toBe("K2");
  });
  it("falls back to the status, then to a tampered Secret's annotation", () => {
    expect(currentKeyId({ state: "missing" }, "K1")).toBe("K1");
    expect(currentKeyId({ state: "tampered", annotatedKeyId: "K3" }, undefined)).toBe("K3");
    expect(currentKeyId({ state: "missing" }, undefined)).toBeUndefined();
  });
});
