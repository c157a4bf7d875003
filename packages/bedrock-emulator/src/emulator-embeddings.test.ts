import {
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  ThrottlingException,
  ValidationException,
} from "@aws-sdk/client-bedrock-runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BedrockEmulator, createBedrockEmulator } from "./index.ts";
import { createTestClients, expectBedrockError, type TestClients } from "./testing/test-clients.ts";

let emulator: BedrockEmulator;
let url: string;
let clients: TestClients;

beforeAll(async () => {
  emulator = createBedrockEmulator();
  ({ url } = await emulator.listen());
  clients = createTestClients(url);
});

afterAll(async () => {
  clients.destroy();
  await emulator.close();
});

async function invoke(modelId: string, body: unknown, transport: "http2" | "http1" = "http2") {
  const response = await clients[transport].send(
    new InvokeModelCommand({
      modelId,
      body: JSON.stringify(body),
      contentType: "application/json",
      accept: "application/json",
    }),
  );
  expect(response.contentType).toBe("application/json");
  return JSON.parse(new TextDecoder().decode(response.body)) as Record<string, unknown>;
}

const norm = (v: number[]) => Math.hypot(...v);

describe("InvokeModel embeddings", () => {
  it("embeds with Titan v2 at 256 dimensions, normalised", async () => {
    const body = await invoke("amazon.titan-embed-text-v2:0", {
      inputText: "hello world",
      dimensions: 256,
    });
    const embedding = body.embedding as number[];
    expect(embedding).toHaveLength(256);
    expect(norm(embedding)).toBeCloseTo(1, 5);
    expect(body.inputTextTokenCount).toBe(3);
    expect(body.embeddingsByType).toEqual({ float: embedding });
  });

  it("returns the same vector for the same text, whatever the transport", async () => {
    const a = await invoke("amazon.titan-embed-text-v2:0", { inputText: "same text" }, "http2");
    const b = await invoke("amazon.titan-embed-text-v2:0", { inputText: "same text" }, "http1");
    const c = await invoke("amazon.titan-embed-text-v2:0", { inputText: "other text" });
    expect(a.embedding).toEqual(b.embedding);
    expect(a.embedding).not.toEqual(c.embedding);
  });

  it("embeds with Titan G1 at 1536 dimensions", async () => {
    const body = await invoke("amazon.titan-embed-text-v1", { inputText: "hi" });
    expect(body.embedding as number[]).toHaveLength(1536);
  });

  it("embeds with Cohere as embeddings_floats", async () => {
    const body = await invoke("cohere.embed-english-v3", {
      texts: ["first", "second"],
      input_type: "search_document",
    });
    expect(body.response_type).toBe("embeddings_floats");
    expect(body.texts).toEqual(["first", "second"]);
    const embeddings = body.embeddings as number[][];
    expect(embeddings.map((e) => e.length)).toEqual([1024, 1024]);
  });

  it("embeds with Cohere as embeddings_by_type, matching the float variant", async () => {
    const byType = await invoke("cohere.embed-multilingual-v3", {
      texts: ["first"],
      input_type: "search_query",
      embedding_types: ["float"],
    });
    const floats = await invoke("cohere.embed-multilingual-v3", {
      texts: ["first"],
      input_type: "search_query",
    });
    expect(byType.response_type).toBe("embeddings_by_type");
    expect(byType.embeddings).toEqual({ float: floats.embeddings });
  });

  it("sends Bedrock's token-count and latency headers", async () => {
    const response = await fetch(`${url}/model/amazon.titan-embed-text-v2%3A0/invoke`, {
      method: "POST",
      headers: { authorization: "Bearer t", "content-type": "application/json" },
      body: JSON.stringify({ inputText: "twelve chars" }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("x-amzn-bedrock-input-token-count")).toBe("3");
    expect(
      Number(response.headers.get("x-amzn-bedrock-invocation-latency")),
    ).toBeGreaterThanOrEqual(0);
  });

  it("honours directives in the input text", async () => {
    await expectBedrockError(
      invoke("amazon.titan-embed-text-v2:0", { inputText: "x [[emulator:throttle]]" }),
      { name: "ThrottlingException", type: ThrottlingException, status: 429 },
    );
    await expectBedrockError(
      invoke("cohere.embed-english-v3", {
        texts: ["a", "[[emulator:status=503]]"],
        input_type: "clustering",
      }),
      { name: "ServiceUnavailableException", status: 503 },
    );
  });

  it("embeds the text without its directives", async () => {
    const plain = await invoke("amazon.titan-embed-text-v2:0", { inputText: "quiet" });
    const delayed = await invoke("amazon.titan-embed-text-v2:0", {
      inputText: "quiet[[emulator:delay-ms=1]]",
    });
    expect(delayed.embedding).toEqual(plain.embedding);
  });

  it.each([
    [
      "a missing inputText",
      "amazon.titan-embed-text-v2:0",
      { text: "a" },
      /extraneous key \[text\] is not permitted/,
    ],
    [
      "bad dimensions",
      "amazon.titan-embed-text-v2:0",
      { inputText: "a", dimensions: 384 },
      /384 is not a valid enum value/,
    ],
    [
      "97 Cohere texts",
      "cohere.embed-english-v3",
      { texts: Array(97).fill("a"), input_type: "clustering" },
      /maximum item count: 96/,
    ],
    [
      "a missing input_type",
      "cohere.embed-english-v3",
      { texts: ["a"] },
      /required key \[input_type\] not found/,
    ],
    [
      "an embedding body sent to a chat model",
      "anthropic.claude-haiku-4-5-20251001-v1:0",
      { inputText: "a" },
      /extraneous key \[inputText\]/,
    ],
  ])("rejects %s with ValidationException", async (_case, modelId, body, message) => {
    await expectBedrockError(invoke(modelId, body), {
      name: "ValidationException",
      type: ValidationException,
      status: 400,
      message,
    });
  });

  it("does not stream embeddings", async () => {
    await expectBedrockError(
      clients.http2.send(
        new InvokeModelWithResponseStreamCommand({
          modelId: "amazon.titan-embed-text-v2:0",
          body: JSON.stringify({ inputText: "a" }),
          contentType: "application/json",
        }),
      ),
      {
        name: "ValidationException",
        status: 400,
        message: "streaming is not supported for this model",
      },
    );
  });
});
