import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { type ServiceProcess, type Stack, startStack } from "@strata/devstack";
import { createDynamoClient } from "@strata/dynamodb";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTcpBalancer, type TcpBalancer } from "./support/tcp-balancer.ts";

// A rolling restart of every service, one replica at a time, while clients keep chatting: two
// replicas of each service behind a round-robin balancer (the Kubernetes Service), the chart's
// rollout order (a new pod first, maxUnavailable 0), SIGTERM to the old one as its endpoint is
// withdrawn. No request may fail and every answered request must reach the usage ledger.

type Name = "inference" | "metering" | "auth" | "gateway";
const names: Name[] = ["inference", "metering", "auth", "gateway"];
const portOf = (name: Name, proc: ServiceProcess) => {
  const port = proc.ports[name === "gateway" ? "http" : "grpc"];
  if (port === undefined) throw new Error(`${name} has no port`);
  return port;
};

let stack: Stack;
const balancers = {} as Record<Name, TcpBalancer>;
const replicas = {} as Record<Name, ServiceProcess[]>;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-rolling-"));
  // As in the chart: readiness turns off at SIGTERM, the endpoint has time to go, then the server
  // drains in-flight work within the grace period.
  const shutdown = { STRATA_SHUTDOWN_DRAIN_MS: "300", STRATA_SHUTDOWN_GRACE_MS: "10000" };
  // The gateway's drain is longer, so a loaded CI machine still sees its "not ready" window.
  const gatewayShutdown = { ...shutdown, STRATA_SHUTDOWN_DRAIN_MS: "1000" };
  stack = await startStack({
    logLevel: "warn",
    logFile: join(dir, "services.log"),
    serviceEnv: {
      auth: shutdown,
      metering: shutdown,
      inference: shutdown,
      gateway: gatewayShutdown,
    },
  });
  for (const name of ["inference", "metering", "auth"] as const) {
    const first = stack.services[name];
    if (!first) throw new Error(`no ${name}`);
    const second = await stack.startReplica(name);
    replicas[name] = [first, second];
    balancers[name] = await startTcpBalancer([portOf(name, first), portOf(name, second)]);
  }
  const gatewayEnv = {
    STRATA_AUTH_URL: balancers.auth.url,
    STRATA_METERING_URL: balancers.metering.url,
    STRATA_INFERENCE_URL: balancers.inference.url,
  };
  replicas.gateway = [
    await stack.startReplica("gateway", gatewayEnv),
    await stack.startReplica("gateway", gatewayEnv),
  ];
  balancers.gateway = await startTcpBalancer(replicas.gateway.map((r) => portOf("gateway", r)));
}, 120_000);

afterAll(async () => {
  for (const b of Object.values(balancers)) await b.close();
  await stack?.stop();
});

/** Clients chatting in a loop (plain and streamed answers) until stopped; failures kept. */
function startTraffic(workers: number) {
  let running = true;
  const counts = { ok: 0, streams: 0 };
  const failures: string[] = [];
  const client = new OpenAI({
    apiKey: stack.apiKey ?? "",
    baseURL: `${balancers.gateway.url}/v1`,
    maxRetries: 0,
  });
  const one = async (i: number) => {
    const stream = i % 2 === 0;
    const content = `rolling ${i} [[emulator:tokens=30]] [[emulator:chunk-delay-ms=10]]`;
    if (stream) {
      const chunks = await client.chat.completions.create({
        model: "nova-micro",
        messages: [{ role: "user", content }],
        stream: true,
      });
      let finish: string | null | undefined;
      for await (const chunk of chunks) finish = chunk.choices[0]?.finish_reason ?? finish;
      if (finish !== "stop" && finish !== "length") throw new Error(`stream ended with ${finish}`);
      counts.streams++;
    } else {
      const completion = await client.chat.completions.create({
        model: "nova-micro",
        messages: [{ role: "user", content }],
      });
      if (!completion.choices[0]?.message.content) throw new Error("empty answer");
    }
    counts.ok++;
  };
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = w; running; i += workers) {
      await one(i).catch((error: unknown) => {
        failures.push(`${i}: ${(error as Error).message}`);
      });
    }
  });
  return {
    counts,
    failures,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** The default tenant's usage ledger items, once at least `count` have arrived (or the timeout). */
async function ledgerCount(count: number): Promise<number> {
  const { doc } = createDynamoClient({ region: "us-east-1", endpoint: stack.dynamoEndpoint });
  const deadline = Date.now() + 15_000;
  for (;;) {
    let total = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: "strata-usage",
          KeyConditionExpression: "tenantId = :t",
          ExpressionAttributeValues: { ":t": "default" },
          Select: "COUNT",
          ExclusiveStartKey: start,
        }),
      );
      total += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    if (total >= count || Date.now() > deadline) return total;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The first non-200 status of a gateway's /readyz within 2 s of SIGTERM (undefined: none). */
/**
 * Polls a gateway's readiness until it stops answering 200: the first other status, or undefined
 * when the port refused first. Started before SIGTERM, so it is already polling when readiness flips.
 */
async function watchReadyz(port: number): Promise<number | undefined> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (res === undefined) return undefined;
    await res.arrayBuffer();
    if (res.status !== 200) return res.status;
    await new Promise((r) => setTimeout(r, 10));
  }
  return 200;
}

describe("rolling restart under traffic", () => {
  it("replaces every replica of every service without failing a request or losing its usage", async () => {
    const traffic = startTraffic(6);
    await new Promise((r) => setTimeout(r, 1_000));
    const exits: string[] = [];
    for (const name of names) {
      for (let i = 0; i < 2; i++) {
        const old = replicas[name][i];
        if (!old) throw new Error("missing replica");
        // maxSurge 1, maxUnavailable 0: the new pod is ready before the old one is told to go.
        const env: Record<string, string> =
          name === "gateway"
            ? {
                STRATA_AUTH_URL: balancers.auth.url,
                STRATA_METERING_URL: balancers.metering.url,
                STRATA_INFERENCE_URL: balancers.inference.url,
              }
            : {};
        const stepStarted = performance.now();
        const fresh = await stack.startReplica(name, env);
        balancers[name].add(portOf(name, fresh));
        balancers[name].remove(portOf(name, old));
        const stopping = performance.now();
        // Readiness flips first: the old gateway says "not ready" while it drains.
        const readiness = name === "gateway" ? watchReadyz(portOf(name, old)) : undefined;
        const stopped = old.stop(15_000);
        if (readiness) expect(await readiness).toBe(503);
        await stopped;
        exits.push(`${name}: ${old.child.exitCode ?? old.child.signalCode}`);
        process.stdout.write(
          `${name} replica ${i}: new one ready in ${Math.round(stopping - stepStarted)} ms, old one gone in ${Math.round(performance.now() - stopping)} ms\n`,
        );
        replicas[name][i] = fresh;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    await traffic.stop();

    expect(traffic.failures).toEqual([]);
    expect(traffic.counts.ok).toBeGreaterThan(100);
    expect(traffic.counts.streams).toBeGreaterThan(50);
    // Every old replica exited by itself (code 0) within the grace period, none was killed.
    expect(exits).toEqual(names.flatMap((n) => [`${n}: 0`, `${n}: 0`]));
    // Every answered request was settled and written to the ledger, through all the restarts.
    expect(await ledgerCount(traffic.counts.ok)).toBe(traffic.counts.ok);
    process.stdout.write(
      `rolling restart: ${traffic.counts.ok} requests (${traffic.counts.streams} streams), 0 failed, 8 replicas replaced\n`,
    );
  }, 180_000);
});
