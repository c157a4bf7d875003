import {
  ConverseCommand,
  type ConverseCommandInput,
  type Message,
  type Tool,
  ValidationException,
} from "@aws-sdk/client-bedrock-runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BedrockEmulator, createBedrockEmulator } from "./index.ts";
import { createTestClients, expectBedrockError, type TestClients } from "./testing/test-clients.ts";

const HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0";
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16]);

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

const user = (...content: Message["content"] & object): Message => ({ role: "user", content });
const assistant = (...content: Message["content"] & object): Message => ({
  role: "assistant",
  content,
});
const hi = user({ text: "hi" });
const tool = (name: string): Tool => ({
  toolSpec: { name, inputSchema: { json: { type: "object" } } },
});
const toolUse = (toolUseId: string) => ({ toolUse: { toolUseId, name: "t", input: {} } });
const toolResult = (toolUseId: string) => ({
  toolResult: { toolUseId, content: [{ text: "ok" }] },
});

type Case = [string, Partial<ConverseCommandInput>, string | RegExp];

const cases: Case[] = [
  ["an empty conversation", { messages: [] }, /at least one message/],
  [
    "a conversation starting with the assistant",
    { messages: [assistant({ text: "hi" }), hi] },
    /must start with a user message/,
  ],
  [
    "two user turns in a row",
    { messages: [hi, user({ text: "again" })] },
    /must alternate between user and assistant/,
  ],
  [
    "a message without content",
    { messages: [{ role: "user", content: [] }] },
    /content field in the Message object at messages.0 is empty/,
  ],
  [
    "a content block with two members",
    { messages: [user({ text: "a", image: { format: "png", source: { bytes: PNG } } } as never)] },
    /exactly one member of the ContentBlock union; found: text, image/,
  ],
  [
    "a blank text block",
    { messages: [user({ text: "   " })] },
    /text content blocks must be non-empty/,
  ],
  [
    "a blank system prompt",
    { messages: [hi], system: [{ text: "" }] },
    /text content blocks must be non-empty: system.0.text/,
  ],
  [
    "tool blocks without toolConfig",
    { messages: [hi, assistant(toolUse("t1")), user(toolResult("t1"))] },
    "The toolConfig field must be defined when using toolUse and toolResult content blocks.",
  ],
  [
    "a toolResult for an unknown toolUse",
    {
      messages: [hi, assistant(toolUse("t1")), user(toolResult("t2"))],
      toolConfig: { tools: [tool("t")] },
    },
    /toolUseId "t2" does not match any toolUse/,
  ],
  [
    "an unanswered toolUse",
    {
      messages: [hi, assistant(toolUse("t1"), toolUse("t2")), user(toolResult("t1"))],
      toolConfig: { tools: [tool("t")] },
    },
    /Expected toolResult blocks at messages.2.content for the following toolUse ids: t2/,
  ],
  [
    "a toolUse in a user message",
    { messages: [user(toolUse("t1"))], toolConfig: { tools: [tool("t")] } },
    /only allowed in assistant messages/,
  ],
  [
    "an invalid tool name",
    { messages: [hi], toolConfig: { tools: [tool("get weather!")] } },
    /tool names must match/,
  ],
  [
    "duplicate tool names",
    { messages: [hi], toolConfig: { tools: [tool("a"), tool("a")] } },
    /Tool names must be unique/,
  ],
  ["an empty tool list", { messages: [hi], toolConfig: { tools: [] } }, /at least one tool/],
  [
    "toolChoice naming an unknown tool",
    { messages: [hi], toolConfig: { tools: [tool("a")], toolChoice: { tool: { name: "b" } } } },
    /does not match any tool in toolConfig.tools/,
  ],
  [
    "an unsupported image format",
    { messages: [user({ image: { format: "bmp" as never, source: { bytes: PNG } } })] },
    /format must be one of png, jpeg, gif, webp/,
  ],
  [
    "image bytes that do not match the format",
    { messages: [user({ image: { format: "png", source: { bytes: JPEG } } })] },
    /do not match the declared format "png" \(detected: jpeg\)/,
  ],
  [
    "images on a model without vision",
    {
      modelId: "amazon.nova-micro-v1:0",
      messages: [user({ image: { format: "png", source: { bytes: PNG } } })],
    },
    /doesn't support image content \(vision\)/,
  ],
  [
    "tools on a model without tool use",
    { modelId: "meta.llama3-8b-instruct-v1:0", messages: [hi], toolConfig: { tools: [tool("a")] } },
    /doesn't support tool use/,
  ],
  [
    "a system prompt on a model without system support",
    { modelId: "mistral.mistral-7b-instruct-v0:2", messages: [hi], system: [{ text: "be nice" }] },
    /doesn't support system messages/,
  ],
  [
    "maxTokens of 0",
    { messages: [hi], inferenceConfig: { maxTokens: 0 } },
    /maxTokens must be an integer between 1 and 64000/,
  ],
  [
    "a fractional maxTokens",
    { messages: [hi], inferenceConfig: { maxTokens: 1.5 } },
    /maxTokens must be an integer/,
  ],
  [
    "maxTokens above the model limit",
    { messages: [hi], inferenceConfig: { maxTokens: 64_001 } },
    /exceeds the model limit of 64000/,
  ],
  [
    "a temperature above 1",
    { messages: [hi], inferenceConfig: { temperature: 1.5 } },
    /temperature must be a number between 0 and 1/,
  ],
  [
    "a negative topP",
    { messages: [hi], inferenceConfig: { topP: -0.1 } },
    /topP must be a number between 0 and 1/,
  ],
  [
    "five stop sequences",
    { messages: [hi], inferenceConfig: { stopSequences: ["a", "b", "c", "d", "e"] } },
    /at most 4 entries/,
  ],
  [
    "an empty stop sequence",
    { messages: [hi], inferenceConfig: { stopSequences: [""] } },
    /non-empty strings/,
  ],
  [
    "input beyond the context window",
    { modelId: "meta.llama3-8b-instruct-v1:0", messages: [user({ text: "x".repeat(8193 * 4) })] },
    "Input is too long for requested model.",
  ],
  [
    "a JSON schema that is not JSON",
    {
      modelId: "us.anthropic.claude-sonnet-4-20250514-v1:0",
      messages: [hi],
      outputConfig: {
        textFormat: { type: "json_schema", structure: { jsonSchema: { schema: "{not json" } } },
      },
    },
    /must be a string containing a JSON schema object/,
  ],
  [
    "structured output on a model without it",
    {
      modelId: "us.anthropic.claude-3-haiku-20240307-v1:0",
      messages: [hi],
      outputConfig: {
        textFormat: { type: "json_schema", structure: { jsonSchema: { schema: "{}" } } },
      },
    },
    /doesn't support structured output/,
  ],
  [
    "an embedding model",
    { modelId: "amazon.titan-embed-text-v2:0", messages: [hi] },
    /doesn't support the model that you provided/,
  ],
];

describe("Converse validation", () => {
  it.each(cases)("rejects %s with ValidationException", async (_case, input, message) => {
    await expectBedrockError(
      clients.http2.send(new ConverseCommand({ modelId: HAIKU, messages: [hi], ...input })),
      { name: "ValidationException", type: ValidationException, status: 400, message },
    );
  });

  it("accepts a valid multi-turn conversation with images, tools and system", async () => {
    const response = await clients.http1.send(
      new ConverseCommand({
        modelId: HAIKU,
        system: [{ text: "be brief" }],
        messages: [
          user({ text: "look" }, { image: { format: "jpeg", source: { bytes: JPEG } } }),
          assistant({ text: "calling" }, toolUse("t1")),
          user(toolResult("t1"), { text: "and?" }),
        ],
        toolConfig: { tools: [tool("t")], toolChoice: { auto: {} } },
        inferenceConfig: { maxTokens: 100, temperature: 0, topP: 1, stopSequences: ["\n\nHuman:"] },
      }),
    );
    expect(response.stopReason).toBe("end_turn");
  });

  // Cases the SDK's serializer cannot produce, sent as raw JSON.
  it.each([
    [
      "an unknown top-level member",
      { messages: [{ role: "user", content: [{ text: "a" }] }], response_format: {} },
      /Unknown member "response_format"/,
    ],
    [
      "an unknown inferenceConfig member",
      { messages: [{ role: "user", content: [{ text: "a" }] }], inferenceConfig: { top_k: 5 } },
      /unknown member "top_k"/,
    ],
    [
      "a JSON schema passed as an object",
      {
        messages: [{ role: "user", content: [{ text: "a" }] }],
        outputConfig: {
          textFormat: {
            type: "json_schema",
            structure: { jsonSchema: { schema: { type: "object" } } },
          },
        },
      },
      /must be a string containing a JSON schema object/,
    ],
    [
      "a role outside user/assistant",
      { messages: [{ role: "system", content: [{ text: "a" }] }] },
      /role must be "user" or "assistant"/,
    ],
    [
      "image bytes that are not base64",
      {
        messages: [
          {
            role: "user",
            content: [
              { image: { format: "png", source: { bytes: "data:image/png;base64,AAAA" } } },
            ],
          },
        ],
      },
      /must be base64-encoded image bytes/,
    ],
  ])("rejects %s sent as raw JSON", async (_case, body, message) => {
    const response = await fetch(
      `${url}/model/${encodeURIComponent("us.anthropic.claude-sonnet-4-20250514-v1:0")}/converse`,
      {
        method: "POST",
        headers: { authorization: "Bearer test", "content-type": "application/json" },
        body: JSON.stringify(body),
      },
    );
    expect(response.status).toBe(400);
    expect(response.headers.get("x-amzn-errortype")).toBe("ValidationException");
    expect(((await response.json()) as { message: string }).message).toMatch(message);
  });
});
