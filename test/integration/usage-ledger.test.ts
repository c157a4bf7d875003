import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { createDynamoClient } from "@strata/dynamodb";
import { describe, expect, inject, it } from "vitest";
import { eventually, newTenantKey, openai } from "./support.ts";

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
});
