import { create } from "@bufbuild/protobuf";
import { StrataError } from "@strata/errors";
import { VerifyKeyRequestSchema } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { generateKey, hashSecret } from "./api-key.ts";
import type { AuthStore, KeyRecord, TenantRecord } from "./store.ts";
import { createKeyVerifier } from "./verify.ts";

const generated = generateKey();
const key: KeyRecord = {
  keyId: generated.keyId,
  tenantId: "acme",
  name: "ci",
  ...hashSecret(generated.secret, undefined),
  policy: {},
  createdAt: "2026-01-01T00:00:00Z",
  expiresAtMs: 0,
};
const tenant: TenantRecord = {
  tenantId: "acme",
  displayName: "Acme",
  status: "active",
  policy: {},
  createdAt: "2026-01-01T00:00:00Z",
};

/** A store whose key and tenant reads behave as given; nothing else is used by verification. */
function storeWith(reads: Pick<AuthStore, "getKey" | "getTenant">): AuthStore {
  return reads as AuthStore;
}

const request = create(VerifyKeyRequestSchema, { apiKey: generated.plaintext });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe("key verification when the store cannot be read", () => {
  it.each([
    ["the key read fails", { getKey: fail, getTenant: async () => tenant }],
    ["the tenant read fails", { getKey: async () => key, getTenant: fail }],
  ])("answers upstream_unavailable with a retry hint when %s, and counts it", async (_, reads) => {
    const results: string[] = [];
    const causes: unknown[] = [];
    const verifier = createKeyVerifier({
      store: storeWith(reads),
      cacheTtlMs: 10_000,
      onResult: (r) => results.push(r),
      onStoreError: (e) => causes.push(e),
    });
    const error = await failure(verifier.verifyKey(request));
    expect(error).toBeInstanceOf(StrataError);
    expect(error).toMatchObject({ reason: "upstream_unavailable", retryAfterMs: 1_000 });
    expect((error as StrataError).message).not.toContain("ECONNREFUSED");
    expect(results).toEqual(["unavailable"]);
    expect(causes).toHaveLength(1);
  });

  it("passes the call's signal to the store, so a hung read ends with the call", async () => {
    const abort = new AbortController();
    const verifier = createKeyVerifier({
      store: storeWith({
        getKey: (_id, signal) =>
          new Promise((_, reject) =>
            signal?.addEventListener("abort", () => reject(signal.reason)),
          ),
        getTenant: async () => tenant,
      }),
      cacheTtlMs: 10_000,
    });
    const pending = failure(verifier.verifyKey(request, abort.signal));
    abort.abort(new Error("deadline exceeded"));
    expect(await pending).toMatchObject({ reason: "upstream_unavailable" });
  });

  it("still verifies a key when the store answers", async () => {
    const verifier = createKeyVerifier({
      store: storeWith({ getKey: async () => key, getTenant: async () => tenant }),
      cacheTtlMs: 10_000,
    });
    const res = await verifier.verifyKey(request);
    expect(res.principal).toMatchObject({ tenantId: "acme", keyId: key.keyId });
  });
});

async function fail(): Promise<never> {
  throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8000"), { code: "ECONNREFUSED" });
}
