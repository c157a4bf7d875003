import {
  AccessDeniedException,
  type ContentBlock,
  ConverseCommand,
  type ConverseCommandInput,
  InternalServerException,
  type Message,
  ModelErrorException,
  ModelNotReadyException,
  ModelTimeoutException,
  ResourceNotFoundException,
  ServiceUnavailableException,
  ThrottlingException,
  type Tool,
  ValidationException,
} from "@aws-sdk/client-bedrock-runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BedrockEmulator, createBedrockEmulator } from "./index.ts";
import { createTestClients, expectBedrockError, type TestClients } from "./testing/test-clients.ts";

const HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0";
const SONNET_4 = "us.anthropic.claude-sonnet-4-20250514-v1:0";

let emulator: BedrockEmulator;
let clients: TestClients;

beforeAll(async () => {
  emulator = createBedrockEmulator();
  const { url } = await emulator.listen();
  clients = createTestClients(url);
});

afterAll(async () => {
  clients.destroy();
  await emulator.close();
});

const userText = (text: string): Message => ({ role: "user", content: [{ text }] });

function send(input: Partial<ConverseCommandInput> & { text?: string }) {
  const { text = "hi", ...rest } = input;
  return clients.http2.send(
    new ConverseCommand({ modelId: HAIKU, messages: [userText(text)], ...rest }),
  );
}

const textOf = (content: ContentBlock[] | undefined) =>
  (content ?? []).map((b) => b.text ?? "").join("");

const weatherTool: Tool = {
  toolSpec: {
    name: "get_weather",
    description: "Current weather for a city",
    inputSchema: {
      json: {
        type: "object",
        properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
        required: ["city", "unit"],
      },
    },
  },
};
const timeTool: Tool = {
  toolSpec: {
    name: "get_time",
    inputSchema: { json: { type: "object", properties: { zone: { type: "string" } } } },
  },
};

describe("Converse", () => {
  it("replies deterministically with usage and metrics", async () => {
    const first = await send({ text: "What is the capital of France?" });
    const second = await send({ text: "What is the capital of France?" });
    expect(textOf(first.output?.message?.content)).toBe(
      "Emulated reply to: What is the capital of France?",
    );
    expect(first.output?.message?.role).toBe("assistant");
    expect(first.stopReason).toBe("end_turn");
    expect(first.usage).toEqual({ inputTokens: 8, outputTokens: 9, totalTokens: 17 });
    expect(first.metrics?.latencyMs).toBeGreaterThanOrEqual(0);
    expect(second.output).toEqual(first.output);
  });

  it.each([
    ["a bare model id", HAIKU],
    ["a us. inference profile", `us.${HAIKU}`],
    ["a global. inference profile", `global.${SONNET_4.slice("us.".length)}`],
    [
      "an inference-profile ARN",
      `arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.${HAIKU}`,
    ],
    ["a foundation-model ARN", `arn:aws:bedrock:us-west-2::foundation-model/${HAIKU}`],
  ])("accepts %s (URL-encoded by the SDK)", async (_case, modelId) => {
    const response = await send({ modelId });
    expect(response.stopReason).toBe("end_turn");
    const record = await emulator.waitForRequest((r) => r.id === response.$metadata.requestId);
    expect(record.modelId).toBe(modelId);
  });

  it("rejects an unknown model id", async () => {
    await expectBedrockError(send({ modelId: "anthropic.claude-9" }), {
      name: "ValidationException",
      type: ValidationException,
      status: 400,
      message: "The provided model identifier is invalid.",
    });
  });

  it("answers in JSON when asked to", async () => {
    const response = await send({ text: "Return JSON with your reply" });
    expect(JSON.parse(textOf(response.output?.message?.content))).toEqual({
      reply: "Emulated reply to: Return JSON with your reply",
    });
  });

  it("produces structured output matching a JSON schema", async () => {
    const schema = {
      type: "object",
      properties: {
        title: { type: "string" },
        year: { type: "integer", minimum: 1900 },
        tags: { type: "array", items: { type: "string" } },
        draft: { type: "boolean" },
      },
      required: ["title", "year", "tags"],
    };
    const response = await send({
      modelId: SONNET_4,
      outputConfig: {
        textFormat: {
          type: "json_schema",
          structure: { jsonSchema: { schema: JSON.stringify(schema), name: "book" } },
        },
      },
    });
    const parsed = JSON.parse(textOf(response.output?.message?.content)) as Record<string, unknown>;
    expect(Object.keys(parsed).sort()).toEqual(["tags", "title", "year"]);
    expect(parsed).toEqual({ title: "example", year: 1900, tags: ["example"] });
  });

  it("stops at maxTokens with stop reason max_tokens", async () => {
    const response = await send({ text: "a b c d e f", inferenceConfig: { maxTokens: 5 } });
    expect(textOf(response.output?.message?.content)).toBe("Emulated reply to: a b");
    expect(response.stopReason).toBe("max_tokens");
    expect(response.usage?.outputTokens).toBe(5);
  });

  it("stops before a stop sequence with stop reason stop_sequence", async () => {
    const response = await send({
      text: "count one two STOP three",
      inferenceConfig: { stopSequences: ["STOP"] },
    });
    expect(textOf(response.output?.message?.content)).toBe("Emulated reply to: count one two");
    expect(response.stopReason).toBe("stop_sequence");
  });
});

describe("Converse tool use", () => {
  const toolUses = (content: ContentBlock[] | undefined) =>
    (content ?? []).flatMap((b) => (b.toolUse ? [b.toolUse] : []));

  it("calls the first tool for toolChoice any, with input from its schema", async () => {
    const response = await send({
      toolConfig: { tools: [weatherTool, timeTool], toolChoice: { any: {} } },
    });
    expect(response.stopReason).toBe("tool_use");
    const [call, ...rest] = toolUses(response.output?.message?.content);
    expect(rest).toEqual([]);
    expect(call).toMatchObject({ name: "get_weather", input: { city: "example", unit: "c" } });
    expect(call?.toolUseId).toMatch(/^tooluse_[A-Za-z0-9_-]{22}$/);
  });

  it("calls exactly the tool named by toolChoice tool", async () => {
    const response = await send({
      toolConfig: { tools: [weatherTool, timeTool], toolChoice: { tool: { name: "get_time" } } },
    });
    expect(toolUses(response.output?.message?.content).map((t) => t.name)).toEqual(["get_time"]);
    expect(response.output?.message?.content?.[0]?.toolUse).toBeDefined();
  });

  it("calls a tool named by a directive after a short text under toolChoice auto", async () => {
    const response = await send({
      text: "weather in Paris? [[emulator:tool=get_weather]]",
      toolConfig: { tools: [weatherTool, timeTool] },
    });
    expect(response.output?.message?.content?.[0]).toEqual({ text: "Calling tools." });
    expect(toolUses(response.output?.message?.content).map((t) => t.name)).toEqual(["get_weather"]);
  });

  it("makes parallel calls for a tools directive", async () => {
    const response = await send({
      text: "[[emulator:tools=get_time,get_weather]]",
      toolConfig: { tools: [weatherTool, timeTool] },
    });
    const calls = toolUses(response.output?.message?.content);
    expect(calls.map((t) => t.name)).toEqual(["get_time", "get_weather"]);
    expect(new Set(calls.map((t) => t.toolUseId)).size).toBe(2);
  });

  it("answers without tools under toolChoice auto when not asked to call one", async () => {
    const response = await send({ text: "just chat", toolConfig: { tools: [weatherTool] } });
    expect(response.stopReason).toBe("end_turn");
    expect(toolUses(response.output?.message?.content)).toEqual([]);
  });

  it("round-trips tool results", async () => {
    const toolConfig = { tools: [weatherTool] };
    const question = userText("weather? [[emulator:tool=get_weather]]");
    const first = await send({ messages: [question], toolConfig });
    const assistant = first.output?.message;
    const call = toolUses(assistant?.content)[0];
    expect(assistant && call).toBeTruthy();
    const second = await send({
      messages: [
        question,
        assistant as Message,
        {
          role: "user",
          content: [
            {
              toolResult: {
                toolUseId: call?.toolUseId,
                content: [{ text: "18 degrees and sunny" }, { json: { humidity: 40 } }],
                status: "success",
              },
            },
          ],
        },
      ],
      toolConfig,
    });
    expect(textOf(second.output?.message?.content)).toBe(
      'Tool results received: 18 degrees and sunny {"humidity":40}',
    );
    expect(second.stopReason).toBe("end_turn");
  });

  it("rejects a directive naming a tool that was not offered", async () => {
    await expectBedrockError(
      send({ text: "[[emulator:tool=launch]]", toolConfig: { tools: [weatherTool] } }),
      { name: "ValidationException", status: 400, message: /not in toolConfig.tools/ },
    );
  });
});

describe("Converse directives", () => {
  it.each([
    ["[[emulator:throttle]]", "ThrottlingException", ThrottlingException, 429],
    ["[[emulator:not-ready]]", "ModelNotReadyException", ModelNotReadyException, 429],
    ["[[emulator:status=400]]", "ValidationException", ValidationException, 400],
    ["[[emulator:status=403]]", "AccessDeniedException", AccessDeniedException, 403],
    ["[[emulator:status=404]]", "ResourceNotFoundException", ResourceNotFoundException, 404],
    ["[[emulator:status=408]]", "ModelTimeoutException", ModelTimeoutException, 408],
    ["[[emulator:status=424]]", "ModelErrorException", ModelErrorException, 424],
    ["[[emulator:status=429]]", "ThrottlingException", ThrottlingException, 429],
    ["[[emulator:status=500]]", "InternalServerException", InternalServerException, 500],
    ["[[emulator:status=503]]", "ServiceUnavailableException", ServiceUnavailableException, 503],
  ])("%s fails with %s", async (directive, name, type, status) => {
    const error = await expectBedrockError(send({ text: `hi ${directive}` }), {
      name,
      type,
      status,
    });
    const record = await emulator.waitForRequest((r) => r.id === error.$metadata?.requestId);
    expect(record).toMatchObject({ outcome: "error", status, errorType: name });
  });

  it("works on HTTP/1.1 too", async () => {
    await expectBedrockError(
      clients.http1.send(
        new ConverseCommand({ modelId: HAIKU, messages: [userText("[[emulator:throttle]]")] }),
      ),
      { name: "ThrottlingException", type: ThrottlingException, status: 429 },
    );
  });

  it("fault-model limits faults to requests for that model id", async () => {
    const text = `hi [[emulator:status=503]] [[emulator:fault-model=${SONNET_4}]]`;
    await expectBedrockError(send({ modelId: SONNET_4, text }), {
      name: "ServiceUnavailableException",
      type: ServiceUnavailableException,
      status: 503,
    });
    const response = await send({ text });
    expect(response.stopReason).toBe("end_turn");
  });

  it("fail-times=N fails the first N identical requests, then answers", async () => {
    const text = `retry me ${Math.random()} [[emulator:throttle]] [[emulator:fail-times=2]]`;
    for (let i = 0; i < 2; i++) {
      await expectBedrockError(send({ text }), {
        name: "ThrottlingException",
        type: ThrottlingException,
        status: 429,
      });
    }
    expect((await send({ text })).stopReason).toBe("end_turn");
    // Another model id is another request: its count starts at zero.
    await expectBedrockError(send({ modelId: SONNET_4, text }), {
      name: "ThrottlingException",
      type: ThrottlingException,
      status: 429,
    });
  });

  it("delay-ms waits before answering", async () => {
    const started = Date.now();
    await send({ text: "slow [[emulator:delay-ms=150]]" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("tokens=N emits N filler words", async () => {
    const response = await send({ text: "[[emulator:tokens=25]]" });
    const text = textOf(response.output?.message?.content);
    expect(text.split(" ")).toHaveLength(25);
    expect(text).toMatch(/^lorem ipsum dolor sit amet/);
    expect(response.usage?.outputTokens).toBe(25);
  });

  it("tokens=N beyond the model's maximum output stops at that maximum", async () => {
    const response = await send({
      modelId: "meta.llama3-8b-instruct-v1:0",
      text: "[[emulator:tokens=5000]]",
    });
    expect(response.usage?.outputTokens).toBe(2048);
    expect(response.stopReason).toBe("max_tokens");
  });

  it("cached=N reports cache-read input tokens", async () => {
    const response = await send({ text: "[[emulator:cached=2]] a question that is long enough" });
    expect(response.usage).toMatchObject({ cacheReadInputTokens: 2, cacheWriteInputTokens: 0 });
  });

  it("guardrail intervenes", async () => {
    const response = await send({ text: "[[emulator:guardrail]]" });
    expect(response.stopReason).toBe("guardrail_intervened");
    expect(textOf(response.output?.message?.content)).toBe(
      "Sorry, the model cannot answer this question.",
    );
  });

  it("stop-reason forces the stop reason", async () => {
    const response = await send({ text: "[[emulator:stop-reason=content_filtered]]" });
    expect(response.stopReason).toBe("content_filtered");
  });

  it("ignores stream-error directives on non-streaming Converse", async () => {
    const response = await send({ text: "ok [[emulator:stream-error-after=0]]" });
    expect(response.stopReason).toBe("end_turn");
  });

  it("reads directives from the last user message only", async () => {
    const response = await send({
      messages: [
        userText("[[emulator:throttle]]"),
        { role: "assistant", content: [{ text: "earlier" }] },
        userText("fine now"),
      ],
    });
    expect(textOf(response.output?.message?.content)).toBe("Emulated reply to: fine now");
  });

  it("rejects malformed directives", async () => {
    await expectBedrockError(send({ text: "[[emulator:status=418]]" }), {
      name: "ValidationException",
      status: 400,
      message: /Invalid emulator directive/,
    });
  });
});
