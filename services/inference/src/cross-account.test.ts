import type { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { STSClient } from "@aws-sdk/client-sts";
import { createLogger } from "@strata/platform";
import { Counter, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createCrossAccountClients, roleSessionName } from "./cross-account.ts";

describe("roleSessionName", () => {
  it.each([
    ["acme", "strata-acme"],
    ["tenant_01@eu", "strata-tenant_01@eu"],
    ["a b/c:d", "strata-a-b-c-d"],
    ["", "strata-unknown"],
    ["t".repeat(80), `strata-${"t".repeat(57)}`],
  ])("names the session of tenant %j %j", (tenantId, name) => {
    expect(roleSessionName(tenantId)).toBe(name);
    expect(name).toMatch(/^[\w+=,.@-]{2,64}$/);
  });
});

describe("cross-account clients", () => {
  const setup = (maxRoles: number) => {
    const created: unknown[] = [];
    const sts = new STSClient({ region: "us-east-1" });
    const clients = createCrossAccountClients({
      sts,
      maxRoles,
      logger: createLogger({ service: "test", level: "silent" }),
      assumeRoleTotal: new Counter({
        name: "t",
        help: "t",
        labelNames: ["outcome"],
        registers: [new Registry()],
      }),
      createClient(credentials) {
        const client = { credentials } as unknown as BedrockRuntimeClient;
        created.push(client);
        return client;
      },
    });
    return { clients, created, sts };
  };
  const role = (name: string, externalId = "") => ({
    roleArn: `arn:aws:iam::123456789012:role/${name}`,
    externalId,
  });

  it("keeps one client per role, external id and tenant", () => {
    const { clients, created, sts } = setup(10);
    const a = clients.clientFor(role("A", "x1"), "t1");
    expect(clients.clientFor(role("A", "x1"), "t1")).toBe(a);
    expect(clients.clientFor(role("A", "x2"), "t1")).not.toBe(a);
    expect(clients.clientFor(role("A", "x1"), "t2")).not.toBe(a);
    expect(created).toHaveLength(3);
    sts.destroy();
  });

  it("drops the least recently used role beyond its bound", () => {
    const { clients, created, sts } = setup(2);
    const a = clients.clientFor(role("A"), "t");
    clients.clientFor(role("B"), "t");
    clients.clientFor(role("A"), "t");
    clients.clientFor(role("C"), "t");
    expect(clients.clientFor(role("A"), "t")).toBe(a);
    clients.clientFor(role("B"), "t");
    expect(created).toHaveLength(4);
    sts.destroy();
  });
});
