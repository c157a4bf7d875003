import { createLogger } from "@strata/platform";
import { describe, expect, it } from "vitest";
import { createEventRecorder } from "./events.ts";
import type { EventObject } from "./kube.ts";

const logger = createLogger({ service: "operator-test", level: "silent" });

function fakeKube() {
  const created: EventObject[] = [];
  const patched: Array<{ namespace: string; name: string; count: number }> = [];
  let failNext = false;
  return {
    created,
    patched,
    failNextCall: () => {
      failNext = true;
    },
    kube: {
      async createEvent(event: EventObject) {
        if (failNext) {
          failNext = false;
          throw Object.assign(new Error("HTTP-Code: 500\nBody: {...}"), { code: 500 });
        }
        created.push(event);
      },
      async patchEventSeries(namespace: string, name: string, count: number) {
        if (failNext) {
          failNext = false;
          throw Object.assign(new Error("HTTP-Code: 404"), { code: 404 });
        }
        patched.push({ namespace, name, count });
      },
    },
  };
}

const apiKey = {
  kind: "ApiKey" as const,
  metadata: { name: "chatbot", namespace: "team-a", uid: "u1" },
};
const tenant = { kind: "Tenant" as const, metadata: { name: "acme", uid: "u2" } };

describe("event recorder", () => {
  it("writes an events.k8s.io event about the object, from this controller and replica", async () => {
    const fake = fakeKube();
    const clock = { t: Date.UTC(2026, 7, 1) };
    const recorder = createEventRecorder({
      kube: fake.kube,
      instance: "operator-a",
      logger,
      now: () => clock.t,
    });
    await recorder.record(apiKey, "Normal", "KeyIssued", "Issue", "Issued a new key.");
    expect(fake.created).toHaveLength(1);
    expect(fake.created[0]).toMatchObject({
      metadata: { namespace: "team-a" },
      reportingController: "strata.dev/operator",
      reportingInstance: "operator-a",
      action: "Issue",
      reason: "KeyIssued",
      note: "Issued a new key.",
      type: "Normal",
      regarding: {
        apiVersion: "strata.dev/v1alpha1",
        kind: "ApiKey",
        name: "chatbot",
        namespace: "team-a",
        uid: "u1",
      },
    });
    expect(fake.created[0]?.metadata.name).toMatch(/^chatbot\.[0-9a-f]+$/);
  });

  it("puts a cluster-scoped Tenant's events in the default namespace", async () => {
    const fake = fakeKube();
    const recorder = createEventRecorder({ kube: fake.kube, instance: "a", logger });
    await recorder.record(tenant, "Normal", "TenantCreated", "Sync", "Tenant created in auth.");
    expect(fake.created[0]?.metadata.namespace).toBe("default");
    expect(fake.created[0]?.regarding).not.toHaveProperty("namespace");
  });

  it("counts a repeated event as a series on the first one, within the window", async () => {
    const fake = fakeKube();
    const clock = { t: 0 };
    const recorder = createEventRecorder({
      kube: fake.kube,
      instance: "a",
      logger,
      seriesWindowMs: 60_000,
      now: () => clock.t,
    });
    await recorder.record(apiKey, "Warning", "AuthUnavailable", "Sync", "auth: unavailable");
    clock.t += 1_000;
    await recorder.record(apiKey, "Warning", "AuthUnavailable", "Sync", "auth: unavailable");
    await recorder.record(apiKey, "Warning", "AuthUnavailable", "Sync", "auth: unavailable");
    expect(fake.created).toHaveLength(1);
    expect(fake.patched.map((p) => p.count)).toEqual([2, 3]);
    expect(fake.patched[0]?.name).toBe(fake.created[0]?.metadata.name);
    // Another note is another event; after the window a new series starts.
    await recorder.record(apiKey, "Warning", "AuthUnavailable", "Sync", "auth: deadline exceeded");
    clock.t += 61_000;
    await recorder.record(apiKey, "Warning", "AuthUnavailable", "Sync", "auth: unavailable");
    expect(fake.created).toHaveLength(3);
  });

  it("never throws, and starts a new event when the series' first one is gone", async () => {
    const fake = fakeKube();
    const recorder = createEventRecorder({ kube: fake.kube, instance: "a", logger });
    fake.failNextCall();
    await expect(
      recorder.record(apiKey, "Normal", "KeyIssued", "Issue", "x"),
    ).resolves.toBeUndefined();
    await recorder.record(apiKey, "Normal", "KeyIssued", "Issue", "x");
    fake.failNextCall();
    await recorder.record(apiKey, "Normal", "KeyIssued", "Issue", "x");
    await recorder.record(apiKey, "Normal", "KeyIssued", "Issue", "x");
    expect(fake.created).toHaveLength(2);
  });

  it("caps the note at the API server's 1 kB", async () => {
    const fake = fakeKube();
    const recorder = createEventRecorder({ kube: fake.kube, instance: "a", logger });
    await recorder.record(apiKey, "Warning", "InvalidSpec", "Sync", "x".repeat(5_000));
    expect(fake.created[0]?.note).toHaveLength(1024);
  });
});
