import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { createDynamoClient } from "@strata/dynamodb";
import { describe, expect, inject, it } from "vitest";
import { admin, eventually, newTenantKey, openai } from "./support.ts";

/**
 * The default catalog's prices (services/inference/src/catalog.ts), in micro-USD per million
 * tokens: input, output, cache read.
 */
const prices: Record<string, [number, number, number]> = {
  "anthropic.claude-3-haiku-20240307-v1:0": [250_000, 1_250_000, 30_000],
  "amazon.nova-micro-v1:0": [35_000, 140_000, 8_750],
  "amazon.titan-embed-text-v2:0": [20_000, 0, 0],
};

/**
 * What a request costs by the price table, from the usage OpenAI's SDK reported:
 * `prompt_tokens` includes the cached tokens, which are priced at the cache-read price; each
 * request's cost is rounded up to a whole micro-unit.
 */
function expectedCost(
  model: string,
  usage: {
    prompt_tokens: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number } | null;
  },
): number {
  const [input, output, cacheRead] = prices[model] ?? [0, 0, 0];
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const total =
    BigInt(usage.prompt_tokens - cached) * BigInt(input) +
    BigInt(usage.completion_tokens ?? 0) * BigInt(output) +
    BigInt(cached) * BigInt(cacheRead);
  return Number((total + 999_999n) / 1_000_000n);
}

describe("usage ledger", () => {
  it("records one entry per request with the tokens the responses reported", async () => {
    const { tenantId, apiKey, keyId } = await newTenantKey();
    const client = openai(apiKey);
    const plain = await client.chat.completions.create({
      model: "claude-3-haiku",
      messages: [{ role: "user", content: "count me" }],
    });
    const stream = await client.chat.completions.create({
      model: "nova-micro",
      messages: [{ role: "user", content: "count me too" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed: { prompt_tokens: number; completion_tokens: number } | undefined;
    for await (const chunk of stream) if (chunk.usage) streamed = chunk.usage;
    const embedded = await client.embeddings.create({
      model: "titan-embed-text-v2",
      input: ["a", "b"],
    });

    const { doc } = createDynamoClient({ region: "us-east-1", endpoint: inject("dynamoEndpoint") });
    const items = await eventually(async () => {
      const { Items = [] } = await doc.send(
        new QueryCommand({
          TableName: "strata-usage",
          KeyConditionExpression: "tenantId = :t",
          ExpressionAttributeValues: { ":t": tenantId },
        }),
      );
      return Items.length >= 3 ? Items : undefined;
    });
    expect(items).toHaveLength(3);
    const byModel = Object.fromEntries(items.map((i) => [i.model as string, i]));
    expect(byModel["anthropic.claude-3-haiku-20240307-v1:0"]).toMatchObject({
      keyId,
      endpoint: "chat.completions",
      inputTokens: plain.usage?.prompt_tokens,
      outputTokens: plain.usage?.completion_tokens,
      status: 200,
      outcome: "success",
      stream: false,
    });
    expect(byModel["amazon.nova-micro-v1:0"]).toMatchObject({
      inputTokens: streamed?.prompt_tokens,
      outputTokens: streamed?.completion_tokens,
      stream: true,
    });
    expect(byModel["amazon.titan-embed-text-v2:0"]).toMatchObject({
      endpoint: "embeddings",
      inputTokens: embedded.usage.prompt_tokens,
    });
    for (const item of items) expect(JSON.stringify(item)).not.toContain(apiKey);
  });

  it("records each request's cost at the model's price, and GetUsage sums it per key and model", async () => {
    const { tenantId, apiKey, keyId } = await newTenantKey();
    const client = openai(apiKey);
    const haiku = "anthropic.claude-3-haiku-20240307-v1:0";
    const nova = "amazon.nova-micro-v1:0";
    const titan = "amazon.titan-embed-text-v2:0";
    const expected: Record<string, number> = {};
    const add = (model: string, usage: Parameters<typeof expectedCost>[1] | undefined) => {
      if (!usage) throw new Error(`no usage reported for ${model}`);
      expected[model] = (expected[model] ?? 0) + expectedCost(model, usage);
    };
    // Cache reads are priced too (at $0.03 per million for haiku).
    const cached = await client.chat.completions.create({
      model: "claude-3-haiku",
      messages: [{ role: "user", content: "[[emulator:cached=40]] [[emulator:tokens=300]] cost" }],
    });
    expect(cached.usage?.prompt_tokens_details?.cached_tokens).toBe(40);
    add(haiku, cached.usage);
    const stream = await client.chat.completions.create({
      model: "claude-3-haiku",
      messages: [{ role: "user", content: "[[emulator:tokens=120]] stream the cost" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed: Parameters<typeof expectedCost>[1] | undefined;
    for await (const chunk of stream) if (chunk.usage) streamed = chunk.usage;
    add(haiku, streamed);
    const micro = await client.chat.completions.create({
      model: "nova-micro",
      messages: [{ role: "user", content: "[[emulator:tokens=1000]] cost" }],
    });
    add(nova, micro.usage);
    const embedded = await client.embeddings.create({
      model: "titan-embed-text-v2",
      input: ["what does this cost", "and this"],
    });
    add(titan, embedded.usage);
    // Every request costs something at these sizes: a zero would pass for a missing cost.
    expect(Object.values(expected).every((cost) => cost > 0)).toBe(true);

    // GetUsage (all days: the requests may straddle UTC midnight) once the ledger has flushed.
    const summaries = await eventually(async () => {
      const { summaries } = await admin().getUsage({ tenantId });
      const requests = summaries.reduce((n, s) => n + s.requests, 0);
      return requests >= 4 ? summaries : undefined;
    });
    const costs: Record<string, number> = {};
    for (const s of summaries) {
      expect(s.keyId).toBe(keyId);
      costs[s.model] = (costs[s.model] ?? 0) + s.costMicros;
    }
    expect(costs).toEqual(expected);

    // Each ledger item carries its own request's cost.
    const { doc } = createDynamoClient({ region: "us-east-1", endpoint: inject("dynamoEndpoint") });
    const { Items = [] } = await doc.send(
      new QueryCommand({
        TableName: "strata-usage",
        KeyConditionExpression: "tenantId = :t",
        ExpressionAttributeValues: { ":t": tenantId },
      }),
    );
    const novaItem = Items.find((i) => i.model === nova);
    expect(novaItem?.costMicros).toBe(expected[nova]);
  });
});
