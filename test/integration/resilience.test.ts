import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { type LocalDynamo, type Stack, startDynalite, startStack } from "@strata/devstack";
import { createDynamoClient } from "@strata/dynamodb";
import { type CatalogEntry, defaultCatalogEntries } from "@strata/inference/catalog";
import { bearerAuth, createRpcClient, createRpcTransport } from "@strata/platform";
import { AuthAdminService } from "@strata/proto";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Faults of Bedrock as a client of the gateway sees them, through the real OpenAI SDK, on a stack
// of its own: a catalog where US inference profiles fall back to EU ones, short breaker and retry
// timings. The emulator's `fault-model` directive fails only one model id's calls.

const US = "us.amazon.nova-micro-v1:0";
const PRO_US = "us.amazon.nova-pro-v1:0";
const breakerOpenMs = 1_500;

const builtIn = (id: string): CatalogEntry => {
  const entry = defaultCatalogEntries.find((e) => e.id === id);
  if (!entry) throw new Error(`${id} missing from the built-in catalog`);
  return entry;
};
const micro = builtIn("amazon.nova-micro-v1:0");
const pro = builtIn("amazon.nova-pro-v1:0");
/** The EU fallback costs twice as much, so a cost shows which model was priced. */
const euPrice = {
  inputPerMillionMicros: micro.price.inputPerMillionMicros * 2,
  outputPerMillionMicros: micro.price.outputPerMillionMicros * 2,
  cacheReadPerMillionMicros: 0,
  cacheWritePerMillionMicros: 0,
};
const catalog: CatalogEntry[] = [
  ...defaultCatalogEntries,
  { ...micro, id: "nova-us", aliases: [], bedrockModelId: US, fallbacks: ["nova-eu"] },
  {
    ...micro,
    id: "nova-eu",
    aliases: [],
    bedrockModelId: "eu.amazon.nova-micro-v1:0",
    price: euPrice,
    fallbacks: [],
  },
  { ...pro, id: "pro-us", aliases: [], bedrockModelId: PRO_US, fallbacks: [] },
];

let dynamo: LocalDynamo;
let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-resilience-"));
  const catalogFile = join(dir, "catalog.json");
  writeFileSync(catalogFile, JSON.stringify({ models: catalog }));
  // A DynamoDB of the test's own, which the stack is given rather than starting one: the ledger
  // checks below read it directly, so they also show that the services used it.
  dynamo = await startDynalite();
  stack = await startStack({
    dynamoEndpoint: dynamo.endpoint,
    logLevel: "warn",
    logFile: join(dir, "services.log"),
    serviceEnv: {
      inference: {
        STRATA_CATALOG_FILE: catalogFile,
        STRATA_BEDROCK_RETRY_BASE_DELAY_MS: "10",
        STRATA_BEDROCK_RETRY_MAX_DELAY_MS: "50",
        STRATA_BREAKER_FAILURES: "2",
        STRATA_BREAKER_OPEN_MS: String(breakerOpenMs),
      },
    },
  });
  client = newClient(stack.apiKey ?? "");
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await dynamo?.close();
});

const newClient = (apiKey: string) =>
  new OpenAI({ apiKey, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });

const emulator = () => {
  if (!stack.emulator) throw new Error("the stack has no emulator");
  return stack.emulator;
};

/** A text no other request sends, to find this test's calls in the emulator's log. */
const tagged = (directives: string) => `${crypto.randomUUID()} ${directives}`;
const callsWith = (tag: string, modelId?: string) =>
  emulator()
    .requests()
    .filter(
      (r) => JSON.stringify(r.body ?? "").includes(tag) && (!modelId || r.modelId === modelId),
    );

/** A tenant whose policy allows only these data-residency regions, and its key. */
async function tenantKey(allowedRegions: string[] = []) {
  const admin = createRpcClient(
    AuthAdminService,
    createRpcTransport({ baseUrl: stack.adminUrl, interceptors: [bearerAuth(stack.adminToken)] }),
  );
  const tenantId = `resilience-${crypto.randomUUID().slice(0, 8)}`;
  await admin.createTenant({ tenantId, policy: { allowedRegions } });
  const created = await admin.createKey({ tenantId, name: "resilience" });
  return { tenantId, apiKey: created.secret };
}

/** The tenant's usage ledger items, once `count` have arrived. */
async function ledger(tenantId: string, count: number) {
  const { doc } = createDynamoClient({ region: "us-east-1", endpoint: dynamo.endpoint });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { Items = [] } = await doc.send(
      new QueryCommand({
        TableName: "strata-usage",
        KeyConditionExpression: "tenantId = :t",
        ExpressionAttributeValues: { ":t": tenantId },
      }),
    );
    if (Items.length >= count) return Items;
    if (Date.now() > deadline) throw new Error(`${Items.length} of ${count} ledger items`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function apiError(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return error as InstanceType<typeof OpenAI.APIError>;
}

describe("fallbacks", () => {
  it("answers from the catalog fallback when the model is throttled, naming it and metering it", async () => {
    const { tenantId, apiKey } = await tenantKey();
    const text = tagged(`[[emulator:throttle]] [[emulator:fault-model=${US}]]`);
    const completion = await newClient(apiKey).chat.completions.create({
      model: "nova-us",
      messages: [{ role: "user", content: text }],
    });
    expect(completion.model).toBe("nova-eu");
    expect(completion.choices[0]?.message.content).toBeTruthy();
    expect(callsWith(text, US)).toHaveLength(3);

    const [item] = await ledger(tenantId, 1);
    expect(item).toMatchObject({ model: "nova-eu", outcome: "success", status: 200 });
    const usage = completion.usage;
    const expectedCost = Math.ceil(
      ((usage?.prompt_tokens ?? 0) * euPrice.inputPerMillionMicros +
        (usage?.completion_tokens ?? 0) * euPrice.outputPerMillionMicros) /
        1_000_000,
    );
    expect(item?.costMicros).toBe(expectedCost);
  });

  it("names the fallback on every chunk of a stream", async () => {
    const text = tagged(`[[emulator:throttle]] [[emulator:fault-model=${US}]]`);
    const stream = await client.chat.completions.create({
      model: "nova-us",
      messages: [{ role: "user", content: text }],
      stream: true,
    });
    const models = new Set<string>();
    for await (const chunk of stream) models.add(chunk.model);
    expect([...models]).toEqual(["nova-eu"]);
  });

  it("never falls back outside the tenant's allowed regions: 429 with retry-after instead", async () => {
    const { apiKey } = await tenantKey(["us"]);
    const text = tagged(`[[emulator:throttle]] [[emulator:fault-model=${US}]]`);
    const error = await apiError(
      newClient(apiKey).chat.completions.create({
        model: "nova-us",
        messages: [{ role: "user", content: text }],
      }),
    );
    expect(error.status).toBe(429);
    expect(Number(error.headers?.get("retry-after"))).toBeGreaterThan(0);
    expect(callsWith(text).map((r) => r.modelId)).toEqual([US, US, US]);
  });
});

describe("circuit breaker", () => {
  it("turns a failing model into fast 503s with retry-after, then lets it recover", async () => {
    const failing = tagged(`[[emulator:status=500]] [[emulator:fault-model=${PRO_US}]]`);
    // Two requests failed after their retries open the circuit.
    for (let i = 0; i < 2; i++) {
      const failed = await apiError(
        client.chat.completions.create({
          model: "pro-us",
          messages: [{ role: "user", content: failing }],
        }),
      );
      expect(failed.status).toBe(503);
      expect(failed.headers?.get("retry-after")).toBeTruthy();
    }

    const healthy = tagged("");
    const started = performance.now();
    const refused = await apiError(
      client.chat.completions.create({
        model: "pro-us",
        messages: [{ role: "user", content: healthy }],
      }),
    );
    expect(performance.now() - started).toBeLessThan(breakerOpenMs);
    expect(refused.status).toBe(503);
    expect(refused.message).toMatch(/temporarily unavailable/);
    expect(Number(refused.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(callsWith(healthy)).toHaveLength(0);

    await new Promise((r) => setTimeout(r, breakerOpenMs + 100));
    const recovered = await client.chat.completions.create({
      model: "pro-us",
      messages: [{ role: "user", content: tagged("") }],
    });
    expect(recovered.model).toBe("pro-us");
  });
});

describe("partial streams", () => {
  it("meters the prompt and the tokens already streamed when Bedrock fails mid-stream", async () => {
    const { tenantId, apiKey } = await tenantKey();
    const stream = await newClient(apiKey).chat.completions.create({
      model: "nova-micro",
      messages: [
        {
          role: "user",
          content: tagged("[[emulator:tokens=40]] [[emulator:stream-error-after=10]]"),
        },
      ],
      stream: true,
    });
    const error = await (async () => {
      for await (const _ of stream) {
        // drain
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const [item] = await ledger(tenantId, 1);
    expect(item).toMatchObject({ outcome: "error", status: 200, stream: true });
    expect(item?.inputTokens).toBeGreaterThan(0);
    expect(item?.outputTokens).toBeGreaterThanOrEqual(5);
    expect(item?.costMicros).toBeGreaterThan(0);
  });

  it("cancels Bedrock within 100 ms of the client going away, and meters what was streamed", async () => {
    const { tenantId, apiKey } = await tenantKey();
    const text = tagged("[[emulator:tokens=400]] [[emulator:chunk-delay-ms=20]]");
    const abort = new AbortController();
    const stream = await newClient(apiKey).chat.completions.create(
      { model: "nova-micro", messages: [{ role: "user", content: text }], stream: true },
      { signal: abort.signal },
    );
    let chunks = 0;
    let abortedAt = 0;
    await (async () => {
      for await (const _ of stream) {
        if (++chunks === 10) {
          abortedAt = Date.now();
          abort.abort();
        }
      }
    })().catch(() => undefined);
    expect(abortedAt).toBeGreaterThan(0);
    const record = await emulator().waitForRequest(
      (r) => JSON.stringify(r.body ?? "").includes(text),
      5_000,
    );
    expect(record.outcome).toBe("aborted");
    const cancelMs = (record.endedAt ?? Number.POSITIVE_INFINITY) - abortedAt;
    process.stdout.write(
      `client abort → Bedrock stream cancelled at the emulator: ${cancelMs} ms\n`,
    );
    expect(cancelMs).toBeLessThanOrEqual(100);
    expect(record.eventsSent).toBeLessThan(100);

    const [item] = await ledger(tenantId, 1);
    expect(item).toMatchObject({ outcome: "cancelled", status: 499, stream: true });
    expect(item?.inputTokens).toBeGreaterThan(0);
    expect(item?.outputTokens).toBeGreaterThan(0);
  });
});
