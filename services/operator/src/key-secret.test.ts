import { describe, expect, it } from "vitest";
import {
  inspectSecret,
  keyIdOf,
  keySecret,
  refreshedSecret,
  sha256Annotation,
  sha256Hex,
} from "./key-secret.ts";
import type { ApiKey, Secret } from "./resources.ts";

const apiKey: ApiKey = {
  metadata: { name: "chatbot", namespace: "team-a", uid: "uid-1" },
  spec: { tenant: "acme", secretName: "chatbot-openai" },
};
const plaintext = `sk-strata-AbCdEf012345_${"x".repeat(43)}ABCDEF`;
const key = { keyId: "AbCdEf012345", plaintext };
const baseUrl = "https://strata.example.com/v1";
const decode = (v: string | undefined) => Buffer.from(v ?? "", "base64").toString("utf8");

describe("the key's Secret", () => {
  it("holds the key, its id and the base URL, labelled, hashed and owned by the ApiKey", () => {
    const s = keySecret(apiKey, key, baseUrl);
    expect(s.metadata).toMatchObject({
      name: "chatbot-openai",
      namespace: "team-a",
      labels: { "app.kubernetes.io/managed-by": "strata-operator", "strata.dev/apikey": "chatbot" },
      annotations: { [sha256Annotation]: sha256Hex(plaintext), "strata.dev/key-id": key.keyId },
      ownerReferences: [
        {
          apiVersion: "strata.dev/v1alpha1",
          kind: "ApiKey",
          name: "chatbot",
          uid: "uid-1",
          controller: true,
        },
      ],
    });
    expect(decode(s.data?.["api-key"])).toBe(plaintext);
    expect(decode(s.data?.["key-id"])).toBe(key.keyId);
    expect(decode(s.data?.["base-url"])).toBe(baseUrl);
    expect(JSON.stringify(s.metadata)).not.toContain(plaintext);
    expect(keySecret(apiKey, key, "").data).not.toHaveProperty("base-url");
  });

  it("keeps labels and annotations that others added, and the resourceVersion to update", () => {
    const existing: Secret = {
      metadata: {
        name: "chatbot-openai",
        namespace: "team-a",
        resourceVersion: "42",
        labels: { team: "a" },
        annotations: { "reloader.stakater.com/match": "true" },
      },
    };
    const s = keySecret(apiKey, key, baseUrl, existing);
    expect(s.metadata.resourceVersion).toBe("42");
    expect(s.metadata.labels?.team).toBe("a");
    expect(s.metadata.annotations?.["reloader.stakater.com/match"]).toBe("true");
  });

  it("finds the key id inside a Strata key, and nothing in anything else", () => {
    expect(keyIdOf(plaintext)).toBe("AbCdEf012345");
    expect(keyIdOf("hello")).toBeUndefined();
    expect(keyIdOf(`sk-other-AbCdEf012345_${"x".repeat(49)}`)).toBeUndefined();
  });
});

describe("drift detection", () => {
  const written = () => structuredClone(keySecret(apiKey, key, baseUrl));

  it("sees a missing Secret", () => {
    expect(inspectSecret(undefined, apiKey, baseUrl)).toEqual({ state: "missing" });
  });

  it("sees the Secret it wrote as intact and up to date", () => {
    expect(inspectSecret(written(), apiKey, baseUrl)).toEqual({
      state: "intact",
      keyId: key.keyId,
      stale: false,
    });
  });

  it.each([
    [
      "the key edited",
      (s: Secret) => {
        s.data = {
          ...s.data,
          "api-key": Buffer.from(`${plaintext.slice(0, -1)}Z`).toString("base64"),
        };
      },
    ],
    [
      "the key removed",
      (s: Secret) => {
        delete s.data?.["api-key"];
      },
    ],
    [
      "the data emptied",
      (s: Secret) => {
        s.data = {};
      },
    ],
    [
      "the hash annotation removed",
      (s: Secret) => {
        delete s.metadata.annotations?.[sha256Annotation];
      },
    ],
    [
      "another key pasted with a matching hash but another id annotated",
      (s: Secret) => {
        const other = `sk-strata-ZZZZZZ999999_${"y".repeat(43)}ABCDEF`;
        s.data = { ...s.data, "api-key": Buffer.from(other).toString("base64") };
        (s.metadata.annotations ?? {})[sha256Annotation] = sha256Hex(other);
      },
    ],
  ])("sees %s as tampered", (_, edit) => {
    const s = written();
    edit(s);
    expect(inspectSecret(s, apiKey, baseUrl)).toMatchObject({ state: "tampered" });
  });

  it.each([
    [
      "the key id edited",
      (s: Secret) => {
        s.data = { ...s.data, "key-id": Buffer.from("nope").toString("base64") };
      },
    ],
    [
      "the base URL edited",
      (s: Secret) => {
        s.data = { ...s.data, "base-url": Buffer.from("http://evil").toString("base64") };
      },
    ],
    [
      "an extra data key added",
      (s: Secret) => {
        s.data = { ...s.data, extra: "eA==" };
      },
    ],
    [
      "our label removed",
      (s: Secret) => {
        delete s.metadata.labels?.["strata.dev/apikey"];
      },
    ],
  ])("sees %s as stale but keeps the key (no reissue)", (_, edit) => {
    const s = written();
    edit(s);
    const state = inspectSecret(s, apiKey, baseUrl);
    expect(state).toEqual({ state: "intact", keyId: key.keyId, stale: true });
    const fixed = refreshedSecret(apiKey, s, baseUrl);
    expect(inspectSecret(fixed, apiKey, baseUrl)).toEqual({
      state: "intact",
      keyId: key.keyId,
      stale: false,
    });
    expect(decode(fixed.data?.["api-key"])).toBe(plaintext);
  });

  it("sees a base URL that changed in the operator's configuration as stale", () => {
    expect(inspectSecret(written(), apiKey, "https://other.example.com/v1")).toMatchObject({
      stale: true,
    });
  });

  it("never touches a Secret of the same name that another owner controls", () => {
    const s = written();
    s.metadata.ownerReferences = [
      { apiVersion: "apps/v1", kind: "Deployment", name: "x", uid: "other", controller: true },
    ];
    expect(inspectSecret(s, apiKey, baseUrl)).toEqual({ state: "foreign" });
    const plain: Secret = { metadata: { name: "chatbot-openai", namespace: "team-a" }, data: {} };
    expect(inspectSecret(plain, apiKey, baseUrl)).toEqual({ state: "foreign" });
  });

  it("adopts the Secret a deleted ApiKey of the same name left behind, and refreshes its owner", () => {
    const s = written();
    const recreated: ApiKey = { ...apiKey, metadata: { ...apiKey.metadata, uid: "uid-2" } };
    expect(inspectSecret(s, recreated, baseUrl)).toEqual({
      state: "intact",
      keyId: key.keyId,
      stale: true,
    });
    const other: ApiKey = {
      ...apiKey,
      metadata: { ...apiKey.metadata, name: "other", uid: "uid-3" },
    };
    expect(inspectSecret(s, other, baseUrl)).toEqual({ state: "foreign" });
  });
});
