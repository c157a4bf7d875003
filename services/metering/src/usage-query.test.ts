import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { create } from "@bufbuild/protobuf";
import { startDynalite } from "@strata/devstack";
import { createDynamoClient, ensureTables } from "@strata/dynamodb";
import { createLogger } from "@strata/platform";
import { Outcome, QueryUsageRequestSchema, UsageRecordSchema } from "@strata/proto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUsageLedger, type UsageLedger, usageItem } from "./ledger.ts";
import { usageTableSpec } from "./tables.ts";
import { ledgerUsage, queryUsage } from "./usage-query.ts";

const table = usageTableSpec("q-");
let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let doc: ReturnType<typeof createDynamoClient>["doc"];
let ledger: UsageLedger;

beforeAll(async () => {
  dynamo = await startDynalite({});
  const clients = createDynamoClient({ region: "us-east-1", endpoint: dynamo.endpoint });
  doc = clients.doc;
  await ensureTables(clients.client, [table]);
  ledger = createUsageLedger({
    doc,
    table: table.name,
    logger: createLogger({ service: "metering", level: "silent" }),
    registry: new Registry(),
    flushIntervalMs: 60_000,
    maxBuffered: 1000,
  });
});
afterAll(async () => {
  await ledger.close(1000);
  await dynamo.close();
});

const record = (
  requestId: string,
  init: { tenantId?: string; keyId?: string; model?: string; at?: string; outcome?: Outcome } = {},
) =>
  create(UsageRecordSchema, {
    requestId,
    principal: { tenantId: init.tenantId ?? "acme", keyId: init.keyId ?? "k1" },
    model: init.model ?? "claude",
    endpoint: "chat.completions",
    inputTokens: 100,
    outputTokens: 10,
    cacheReadInputTokens: 5,
    status: 200,
    outcome: init.outcome ?? Outcome.SUCCESS,
    startedAtMs: Date.parse(init.at ?? "2026-11-23T10:00:00Z"),
  });

const query = (tenantId: string, sinceDay = "", untilDay = "") =>
  queryUsage(doc, table.name, create(QueryUsageRequestSchema, { tenantId, sinceDay, untilDay }));

describe("usage query", () => {
  it("sums requests, tokens and cost per day, key and model", async () => {
    ledger.record(record("a1"), 28);
    ledger.record(record("a2", { outcome: Outcome.ERROR }), 14);
    // Rewritten by a repeated settlement: counted once.
    ledger.record(record("a2", { outcome: Outcome.ERROR }), 14);
    ledger.record(record("b1", { keyId: "k2" }), 1_000_000);
    ledger.record(record("c1", { model: "nova" }), 3);
    ledger.record(record("d1", { at: "2026-11-24T00:00:00Z" }), 7);
    ledger.record(record("x1", { tenantId: "other" }), 99);
    await ledger.flush();

    expect(await query("acme")).toEqual([
      expect.objectContaining({
        day: "2026-11-23",
        tenantId: "acme",
        keyId: "k1",
        model: "claude",
        requests: 2,
        failedRequests: 1,
        inputTokens: 200,
        outputTokens: 20,
        cacheReadInputTokens: 10,
        costMicros: 42,
      }),
      expect.objectContaining({ day: "2026-11-23", keyId: "k1", model: "nova", costMicros: 3 }),
      expect.objectContaining({ day: "2026-11-23", keyId: "k2", costMicros: 1_000_000 }),
      expect.objectContaining({ day: "2026-11-24", keyId: "k1", costMicros: 7 }),
    ]);
    expect(await query("acme", "2026-11-24", "2026-11-24")).toEqual([
      expect.objectContaining({ day: "2026-11-24", requests: 1, costMicros: 7 }),
    ]);
  });

  it("counts items written before cost was recorded as costing nothing", async () => {
    const legacy = usageItem(record("old", { tenantId: "legacy" }), 0);
    delete legacy.costMicros;
    await doc.send(new PutCommand({ TableName: table.name, Item: legacy }));
    ledger.record(record("new", { tenantId: "legacy" }), 28);
    await ledger.flush();
    expect(await query("legacy")).toEqual([
      expect.objectContaining({ requests: 2, inputTokens: 200, costMicros: 28 }),
    ]);
  });

  it("refuses a malformed day", async () => {
    await expect(query("acme", "23/11/2026")).rejects.toMatchObject({
      reason: "invalid_request",
      param: "since_day",
    });
  });
});

describe("ledger usage for a budget period", () => {
  it("sums input + output tokens and cost of the tenant, or of one key, from start to end", async () => {
    const tenantId = "budget-acme";
    ledger.record(record("b1", { tenantId, at: "2026-10-31T23:59:59.999Z" }), 1); // before
    ledger.record(record("b2", { tenantId, at: "2026-11-01T00:00:00.000Z" }), 20);
    ledger.record(record("b3", { tenantId, keyId: "k2", at: "2026-11-15T12:00:00Z" }), 300);
    ledger.record(record("b4", { tenantId, at: "2026-11-30T23:59:59.999Z" }), 4_000);
    ledger.record(record("b5", { tenantId, at: "2026-12-01T00:00:00.000Z" }), 50_000); // after
    ledger.record(record("b6", { tenantId: "someone-else", at: "2026-11-10T00:00:00Z" }), 7);
    await ledger.flush();
    const november = { fromMs: Date.UTC(2026, 10, 1), toMs: Date.UTC(2026, 11, 1) };
    expect(await ledgerUsage(doc, table.name, { tenantId, ...november })).toEqual({
      tokens: 330,
      costMicros: 4_320,
    });
    expect(await ledgerUsage(doc, table.name, { tenantId, keyId: "k2", ...november })).toEqual({
      tokens: 110,
      costMicros: 300,
    });
    expect(
      await ledgerUsage(doc, table.name, {
        tenantId: "nobody",
        ...november,
      }),
    ).toEqual({ tokens: 0, costMicros: 0 });
  });
});
