import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { create } from "@bufbuild/protobuf";
import { startDynalite } from "@strata/devstack";
import { createDynamoClient, ensureTables } from "@strata/dynamodb";
import { createLogger } from "@strata/platform";
import { Outcome, UsageRecordSchema } from "@strata/proto";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { createUsageLedger } from "./ledger.ts";
import { usageTableSpec } from "./tables.ts";

const logger = createLogger({ service: "metering", level: "silent" });
const table = usageTableSpec("t-");
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const record = (requestId: string, tenantId = "acme") =>
  create(UsageRecordSchema, {
    requestId,
    principal: { tenantId, keyId: "k1" },
    model: "m",
    endpoint: "chat.completions",
    inputTokens: 10,
    outputTokens: 5,
    status: 200,
    outcome: Outcome.SUCCESS,
    startedAtMs: Date.parse("2026-11-23T10:00:00Z"),
  });

async function setup(path?: string, port?: number) {
  const dynamo = await startDynalite({ ...(path ? { path } : {}), ...(port ? { port } : {}) });
  const clients = createDynamoClient({
    region: "us-east-1",
    endpoint: dynamo.endpoint,
    maxAttempts: 1,
  });
  await ensureTables(clients.client, [table]);
  return { dynamo, clients };
}

const items = async (doc: ReturnType<typeof createDynamoClient>["doc"], tenantId = "acme") =>
  (
    await doc.send(
      new QueryCommand({
        TableName: table.name,
        KeyConditionExpression: "tenantId = :t",
        ExpressionAttributeValues: { ":t": tenantId },
      }),
    )
  ).Items ?? [];

describe("usage ledger", () => {
  it("writes one item per request, in batches, and rewrites idempotently", async () => {
    const { dynamo, clients } = await setup();
    cleanups.push(() => dynamo.close());
    const ledger = createUsageLedger({
      doc: clients.doc,
      table: table.name,
      logger,
      registry: new Registry(),
      flushIntervalMs: 60_000,
      maxBuffered: 1000,
    });
    for (let i = 0; i < 60; i++) ledger.record(record(`req_${i}`), 28);
    ledger.record(record("req_0"), 28);
    await ledger.flush();
    const stored = await items(clients.doc);
    expect(stored).toHaveLength(60);
    expect(stored[0]).toMatchObject({
      keyId: "k1",
      inputTokens: 10,
      outputTokens: 5,
      day: "2026-11-23",
      outcome: "success",
      costMicros: 28,
    });
    expect(ledger.backlog).toBe(0);
    await ledger.close(1000);
  });

  it("writes a request settled twice before a flush once, with the other records of its batch", async () => {
    const { dynamo, clients } = await setup();
    cleanups.push(() => dynamo.close());
    const ledger = createUsageLedger({
      doc: clients.doc,
      table: table.name,
      logger,
      registry: new Registry(),
      flushIntervalMs: 60_000,
      maxBuffered: 3,
    });
    // DynamoDB refuses a batch naming one key twice: the buffer must not hold it twice.
    expect([
      ledger.record(record("a"), 28),
      ledger.record(record("b"), 28),
      ledger.record(record("a"), 28),
      ledger.record(record("c"), 28),
    ]).toEqual([true, true, true, true]);
    expect(ledger.backlog).toBe(3);
    await ledger.flush();
    expect(ledger.backlog).toBe(0);
    const stored = await items(clients.doc);
    expect(stored.map((i) => [i.requestId, i.costMicros]).sort()).toEqual([
      ["a", 28],
      ["b", 28],
      ["c", 28],
    ]);
    await ledger.close(1000);
  });

  it("keeps records while DynamoDB is down and writes them when it is back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ledger-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await setup(dir);
    const port = Number(new URL(first.dynamo.endpoint).port);
    const registry = new Registry();
    const ledger = createUsageLedger({
      doc: first.clients.doc,
      table: table.name,
      logger,
      registry,
      flushIntervalMs: 60_000,
      maxBuffered: 1000,
    });
    await first.dynamo.close();
    ledger.record(record("during-outage"), 1);
    await ledger.flush();
    expect(ledger.backlog).toBe(1);
    const second = await setup(dir, port);
    cleanups.push(() => second.dynamo.close());
    await ledger.flush();
    expect(ledger.backlog).toBe(0);
    expect((await items(second.clients.doc)).map((i) => i.requestId)).toEqual(["during-outage"]);
    expect(
      await registry.getSingleMetricAsString("strata_metering_ledger_write_failures_total"),
    ).toMatch(/ 1$/m);
    await ledger.close(1000);
  });

  it("counts records dropped when the buffer is full", async () => {
    const { dynamo, clients } = await setup();
    cleanups.push(() => dynamo.close());
    const registry = new Registry();
    const ledger = createUsageLedger({
      doc: clients.doc,
      table: table.name,
      logger,
      registry,
      flushIntervalMs: 60_000,
      maxBuffered: 2,
    });
    expect([
      ledger.record(record("a"), 1),
      ledger.record(record("b"), 1),
      ledger.record(record("c"), 1),
    ]).toEqual([true, true, false]);
    expect(await registry.getSingleMetricAsString("strata_metering_ledger_lost_total")).toMatch(
      / 1$/m,
    );
    await ledger.close(1000);
  });

  it("gives up on a write DynamoDB never answers, keeps its records in the backlog, and writes them later", async () => {
    const { dynamo, clients } = await setup();
    cleanups.push(() => dynamo.close());
    let hang = true;
    // DynamoDB that accepts the request and never answers, until `hang` is off.
    const doc = {
      send: (command: unknown, options?: { abortSignal?: AbortSignal }) =>
        hang
          ? new Promise((_, reject) =>
              options?.abortSignal?.addEventListener("abort", () => reject(new Error("aborted"))),
            )
          : clients.doc.send(command as QueryCommand, options),
    } as unknown as typeof clients.doc;
    const registry = new Registry();
    const ledger = createUsageLedger({
      doc,
      table: table.name,
      logger,
      registry,
      flushIntervalMs: 60_000,
      maxBuffered: 1000,
      writeTimeoutMs: 100,
    });
    ledger.record(record("a"), 1);
    ledger.record(record("b"), 1);
    const flushing = ledger.flush();
    // In flight, the records still count as waiting (for the backlog gauge and a shutdown).
    expect(ledger.backlog).toBe(2);
    const started = performance.now();
    await flushing;
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(ledger.backlog).toBe(2);
    expect(
      await registry.getSingleMetricAsString("strata_metering_ledger_write_failures_total"),
    ).toMatch(/ 1$/m);
    hang = false;
    await ledger.flush();
    expect(ledger.backlog).toBe(0);
    expect((await items(clients.doc)).map((i) => i.requestId).sort()).toEqual(["a", "b"]);
    await ledger.close(1000);
  });

  it("stops at its shutdown deadline while DynamoDB hangs, and counts what it could not write", async () => {
    const doc = {
      send: (_command: unknown, options?: { abortSignal?: AbortSignal }) =>
        new Promise((_, reject) =>
          options?.abortSignal?.addEventListener("abort", () => reject(new Error("aborted"))),
        ),
    } as unknown as ReturnType<typeof createDynamoClient>["doc"];
    const registry = new Registry();
    const ledger = createUsageLedger({
      doc,
      table: table.name,
      logger,
      registry,
      flushIntervalMs: 60_000,
      maxBuffered: 1000,
      writeTimeoutMs: 60_000,
    });
    ledger.record(record("a"), 1);
    void ledger.flush();
    const started = performance.now();
    await ledger.close(300);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await registry.getSingleMetricAsString("strata_metering_ledger_lost_total")).toMatch(
      / 1$/m,
    );
  });
});
