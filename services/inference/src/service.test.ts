import type { MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { type BedrockEmulator, createBedrockEmulator } from "@strata/bedrock-emulator";
import { fromConnectError, type StrataError } from "@strata/errors";
import { createLogger, createRpcClient, createRpcTransport } from "@strata/platform";
import {
  type ChatRequest,
  type ChatRequestSchema,
  type ChatStreamResponse,
  Health,
  InferenceService,
  ModelKind,
  Role,
  HealthCheckResponse_ServingStatus as ServingStatus,
  StopReason,
  ToolResultStatus,
} from "@strata/proto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createBedrockClient } from "./bedrock-client.ts";
import { createDefaultCatalog } from "./catalog.ts";
import { createInferenceServer, type InferenceServer } from "./server.ts";

let emulator: BedrockEmulator;
let bedrock: ReturnType<typeof createBedrockClient>;
let server: InferenceServer;
let impatient: InferenceServer;
let registry: Registry;

const start = (options: { timeoutMs: number; streamIdleTimeoutMs: number; registry: Registry }) =>
  createInferenceServer({
    catalog: createDefaultCatalog({ region: "us-east-1" }),
    client: bedrock,
    logger: createLogger({ service: "inference", level: "silent" }),
    host: "127.0.0.1",
    port: 0,
    ...options,
  });

beforeAll(async () => {
  emulator = createBedrockEmulator();
  const { url } = await emulator.listen(0);
  bedrock = createBedrockClient({
    region: "us-east-1",
    endpoint: url,
    maxAttempts: 1,
    credentials: "emulator",
  });
  registry = new Registry();
  server = await start({ timeoutMs: 10_000, streamIdleTimeoutMs: 10_000, registry });
  impatient = await start({ timeoutMs: 300, streamIdleTimeoutMs: 300, registry: new Registry() });
});
afterAll(async () => {
  await server?.close(500);
  await impatient?.close(500);
  bedrock?.destroy();
  await emulator?.close();
});
beforeEach(() => emulator.clearRequests());

const clientOf = (s: InferenceServer) =>
  createRpcClient(InferenceService, createRpcTransport({ baseUrl: `http://127.0.0.1:${s.port}` }));
const inference = () => clientOf(server);

type ChatInit = MessageInitShape<typeof ChatRequestSchema>;
const user = (text: string) => ({
  role: Role.USER,
  content: [{ block: { case: "text" as const, value: text } }],
});
const weatherTool = {
  name: "get_weather",
  description: "Current weather of a city",
  inputSchemaJson: JSON.stringify({
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
  }),
};
/** The plain-object form of a ChatRequest init (not a ChatRequest message). */
type ChatInitObject = Exclude<ChatInit, ChatRequest>;
const chatInit = (
  model: string,
  text: string,
  extra: Partial<ChatInitObject> = {},
): ChatInitObject => ({
  model,
  messages: [user(text)],
  requestId: "req-1",
  ...extra,
});

async function failure(promise: Promise<unknown>): Promise<StrataError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return fromConnectError(error as ConnectError);
}

async function collect(
  stream: AsyncIterable<ChatStreamResponse>,
): Promise<{ events: ChatStreamResponse[]; error: StrataError | undefined }> {
  const events: ChatStreamResponse[] = [];
  try {
    for await (const event of stream) events.push(event);
    return { events, error: undefined };
  } catch (error) {
    return { events, error: fromConnectError(ConnectError.from(error)) };
  }
}

const text = (events: ChatStreamResponse[]) =>
  events
    .map((e) =>
      e.event.case === "blockDelta" && e.event.value.delta.case === "text"
        ? e.event.value.delta.value
        : "",
    )
    .join("");

describe("inference service against the Bedrock emulator", () => {
  it("answers a chat through Converse, with usage, by alias", async () => {
    const response = await inference().chat(chatInit("nova-micro", "Say hello"));
    expect(response.model).toBe("amazon.nova-micro-v1:0");
    expect(response.content[0]?.block.case).toBe("text");
    expect(response.stopReason).toBe(StopReason.END_TURN);
    expect(response.usage?.inputTokens).toBeGreaterThan(0);
    expect(response.usage?.outputTokens).toBeGreaterThan(0);
    const [record] = emulator.requests();
    expect(record).toMatchObject({ operation: "Converse", modelId: "amazon.nova-micro-v1:0" });
  });

  it("calls Bedrock with the inference profile of claude-sonnet-4", async () => {
    await inference().chat(chatInit("claude-sonnet-4", "hi"));
    expect(emulator.requests()[0]?.modelId).toBe("us.anthropic.claude-sonnet-4-20250514-v1:0");
  });

  it("folds the system prompt into the user turn for Mistral, which Bedrock accepts", async () => {
    const response = await inference().chat(
      chatInit("mistral-7b", "hi", { system: ["You are terse."] }),
    );
    expect(response.stopReason).toBe(StopReason.END_TURN);
    const body = emulator.requests()[0]?.body as { system?: unknown; messages: unknown[] };
    expect(body.system).toBeUndefined();
    expect(JSON.stringify(body.messages[0])).toContain("You are terse.");
  });

  it("streams events in order: start, deltas, block stop, stop, metadata with usage", async () => {
    const { events, error } = await collect(
      inference().chatStream({
        chat: chatInit("claude-3-haiku", "Tell me a story [[emulator:tokens=20]]"),
      }),
    );
    expect(error).toBeUndefined();
    const kinds = events.map((e) => e.event.case);
    expect(kinds[0]).toBe("start");
    expect(kinds.slice(-3)).toEqual(["blockStop", "stop", "metadata"]);
    expect(kinds.slice(1, -3).every((k) => k === "blockDelta")).toBe(true);
    expect(events[0]?.event.value).toMatchObject({
      model: "anthropic.claude-3-haiku-20240307-v1:0",
    });
    const metadata = events.at(-1)?.event;
    expect(metadata?.case === "metadata" && metadata.value.usage?.outputTokens).toBe(20);
    expect(text(events).length).toBeGreaterThan(0);
    const metrics = await registry.getSingleMetricAsString(
      "strata_inference_time_to_first_token_seconds",
    );
    expect(metrics).toMatch(/_count\{model="anthropic.claude-3-haiku-20240307-v1:0"\} [1-9]/);
  });

  it("sends the deltas of events that arrive together as one message, with the same text", async () => {
    // Without a pause between events the emulator writes them all at once, as Bedrock's events
    // arrive when this process has fallen behind: they are read together and go out merged.
    const prompt = "Tell me a story [[emulator:tokens=200]]";
    const whole = await inference().chat(chatInit("claude-3-haiku", prompt));
    const { events, error } = await collect(
      inference().chatStream({ chat: chatInit("claude-3-haiku", prompt) }),
    );
    expect(error).toBeUndefined();
    const deltas = events.filter((e) => e.event.case === "blockDelta");
    expect(deltas.length).toBeLessThan(100);
    const block = whole.content[0]?.block;
    expect(text(events)).toBe(block?.case === "text" ? block.value : "");
    const metadata = events.at(-1)?.event;
    expect(metadata?.case === "metadata" && metadata.value.usage?.outputTokens).toBe(200);
  });

  it("sends each delta as soon as it arrives when the next one is not there yet", async () => {
    const arrivals: { kind: string | undefined; ms: number }[] = [];
    const started = performance.now();
    const stream = inference().chatStream({
      chat: chatInit("claude-3-haiku", "Hi [[emulator:tokens=3]] [[emulator:chunk-delay-ms=400]]"),
    });
    for await (const event of stream) {
      arrivals.push({ kind: event.event.case, ms: performance.now() - started });
    }
    const deltas = arrivals.filter((a) => a.kind === "blockDelta");
    expect(deltas).toHaveLength(3);
    // The first delta is not held back for the ones 400 and 800 ms behind it.
    expect((arrivals.at(-1)?.ms ?? 0) - (deltas[0]?.ms ?? 0)).toBeGreaterThan(700);
  });

  it("returns the model's tool call, non-streamed and streamed", async () => {
    const request = chatInit("nova-micro", "Weather in Paris? [[emulator:tool=get_weather]]", {
      toolConfig: { tools: [weatherTool] },
    });
    const response = await inference().chat(request);
    expect(response.stopReason).toBe(StopReason.TOOL_USE);
    const call = response.content.find((b) => b.block.case === "toolUse")?.block.value;
    expect(call).toMatchObject({ name: "get_weather" });
    expect(JSON.parse((call as { inputJson: string }).inputJson)).toHaveProperty("city");

    const { events } = await collect(inference().chatStream({ chat: request }));
    const started = events.find((e) => e.event.case === "blockStart")?.event.value;
    expect(started).toMatchObject({ toolUse: { name: "get_weather" } });
    const input = events
      .map((e) =>
        e.event.case === "blockDelta" && e.event.value.delta.case === "toolInputJson"
          ? e.event.value.delta.value
          : "",
      )
      .join("");
    expect(JSON.parse(input)).toHaveProperty("city");
    expect(events.find((e) => e.event.case === "stop")?.event.value).toMatchObject({
      stopReason: StopReason.TOOL_USE,
    });
  });

  it("drops tool calls when tool_choice is none, although the history forces toolConfig", async () => {
    const request: ChatInit = {
      model: "claude-3-haiku",
      messages: [
        user("Weather in Paris?"),
        {
          role: Role.ASSISTANT,
          content: [
            {
              block: {
                case: "toolUse",
                value: { id: "tooluse_1", name: "get_weather", inputJson: '{"city":"Paris"}' },
              },
            },
          ],
        },
        {
          role: Role.USER,
          content: [
            {
              block: {
                case: "toolResult",
                value: {
                  toolUseId: "tooluse_1",
                  status: ToolResultStatus.SUCCESS,
                  content: [{ content: { case: "text", value: "18°C" } }],
                },
              },
            },
            { block: { case: "text", value: "And Rome? [[emulator:tool=get_weather]]" } },
          ],
        },
      ],
      toolConfig: { tools: [weatherTool], choice: { choice: { case: "none", value: {} } } },
    };
    const response = await inference().chat(request);
    expect(response.content.some((b) => b.block.case === "toolUse")).toBe(false);
    expect(response.stopReason).toBe(StopReason.END_TURN);
    expect(emulator.requests()[0]?.body).toMatchObject({
      toolConfig: { toolChoice: { auto: {} } },
    });

    const { events } = await collect(inference().chatStream({ chat: request }));
    expect(events.some((e) => e.event.case === "blockStart")).toBe(false);
    expect(events.find((e) => e.event.case === "stop")?.event.value).toMatchObject({
      stopReason: StopReason.END_TURN,
    });
  });

  it("answers json_schema with JSON text through the forced tool on Claude 3 Haiku", async () => {
    const schema = {
      type: "object",
      properties: { city: { type: "string" }, temperature: { type: "number" } },
      required: ["city", "temperature"],
    };
    const request = chatInit("claude-3-haiku", "Weather in Paris as JSON", {
      responseFormat: {
        format: {
          case: "jsonSchema",
          value: { name: "weather", schemaJson: JSON.stringify(schema) },
        },
      },
    });
    const response = await inference().chat(request);
    expect(response.stopReason).toBe(StopReason.END_TURN);
    expect(response.content).toHaveLength(1);
    const answer = response.content[0]?.block;
    expect(answer?.case).toBe("text");
    expect(JSON.parse(answer?.value as string)).toMatchObject({ city: expect.any(String) });

    const { events } = await collect(inference().chatStream({ chat: request }));
    expect(JSON.parse(text(events))).toMatchObject({ temperature: expect.any(Number) });
  });

  it("sends json_schema natively to Claude Sonnet 4", async () => {
    const schema = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] };
    const response = await inference().chat(
      chatInit("claude-sonnet-4", "Is it ok?", {
        responseFormat: {
          format: { case: "jsonSchema", value: { schemaJson: JSON.stringify(schema) } },
        },
      }),
    );
    expect(emulator.requests()[0]?.body).toMatchObject({
      outputConfig: {
        textFormat: {
          type: "json_schema",
          structure: { jsonSchema: { schema: JSON.stringify(schema) } },
        },
      },
    });
    expect(response.content[0]?.block.case).toBe("text");
  });

  it("embeds with Titan v2 at 256 dimensions, in input order", async () => {
    const response = await inference().embed({
      model: "titan-embed-text-v2",
      inputs: ["first", "second", "third"],
      dimensions: 256,
    });
    expect(response.model).toBe("amazon.titan-embed-text-v2:0");
    expect(response.embeddings.map((e) => e.values.length)).toEqual([256, 256, 256]);
    expect(response.inputTokens).toBeGreaterThan(0);
    const bodies = emulator
      .requests()
      .map((r) => r.body as { inputText: string; dimensions: number });
    expect(bodies.map((b) => b.inputText).sort()).toEqual(["first", "second", "third"]);
    expect(bodies.every((b) => b.dimensions === 256)).toBe(true);
    const again = await inference().embed({
      model: "titan-embed-text-v2",
      inputs: ["third"],
      dimensions: 256,
    });
    expect(again.embeddings[0]?.values).toEqual(response.embeddings[2]?.values);
  });

  it("embeds with Cohere in one batch, counting tokens from Bedrock's header", async () => {
    // The emulator counts code points / 4 (2 + 1 + 1); the local estimate would count UTF-16
    // units and say 5 for the emoji, so 4 proves the header was read.
    const inputs = ["alpha", "beta", "😀😀😀😀"];
    const response = await inference().embed({ model: "cohere-embed-english-v3", inputs });
    expect(response.embeddings.map((e) => e.values.length)).toEqual([1024, 1024, 1024]);
    expect(response.inputTokens).toBe(4);
    expect(emulator.requests()).toHaveLength(1);
    expect(emulator.requests()[0]?.body).toMatchObject({
      texts: inputs,
      input_type: "search_document",
    });
  });

  it("maps Bedrock throttling to rate_limited with a retry hint", async () => {
    const error = await failure(
      inference().chat(chatInit("nova-micro", "hi [[emulator:throttle]]")),
    );
    expect(error.reason).toBe("rate_limited");
    expect(error.retryAfterMs).toBe(1000);
    const metrics = await registry.getSingleMetricAsString(
      "strata_inference_upstream_requests_total",
    );
    expect(metrics).toContain(
      'model="amazon.nova-micro-v1:0",operation="converse",outcome="rate_limited"',
    );
  });

  it("maps a 503 to upstream_unavailable", async () => {
    const error = await failure(
      inference().chat(chatInit("nova-micro", "hi [[emulator:status=503]]")),
    );
    expect(error.reason).toBe("upstream_unavailable");
  });

  it("fails a stream with a StrataError after the events that came before the Bedrock error", async () => {
    const { events, error } = await collect(
      inference().chatStream({
        chat: chatInit(
          "nova-micro",
          "Long answer [[emulator:tokens=50]] [[emulator:stream-error-after=3]]",
        ),
      }),
    );
    expect(events[0]?.event.case).toBe("start");
    // The three tokens before the error, in however many messages they arrived.
    expect(text(events).trim().split(/\s+/)).toHaveLength(3);
    expect(events.some((e) => e.event.case === "stop")).toBe(false);
    expect(error?.reason).toBe("internal");
  });

  it("cancels the Bedrock stream when the client cancels the RPC", async () => {
    const controller = new AbortController();
    const stream = inference().chatStream(
      {
        chat: chatInit("nova-micro", "Slow [[emulator:tokens=200]] [[emulator:chunk-delay-ms=50]]"),
      },
      { signal: controller.signal },
    );
    let received = 0;
    await expect(
      (async () => {
        for await (const _ of stream) {
          if (++received === 2) controller.abort();
        }
      })(),
    ).rejects.toThrow();
    const record = await emulator.waitForRequest((r) => r.operation === "ConverseStream", 3000);
    expect(record.outcome).toBe("aborted");
    expect(record.eventsSent).toBeLessThan(50);
  });

  it("times out a call that Bedrock does not answer in time", async () => {
    const error = await failure(
      clientOf(impatient).chat(chatInit("nova-micro", "hi [[emulator:delay-ms=2000]]")),
    );
    expect(error.reason).toBe("upstream_timeout");
    const record = await emulator.waitForRequest((r) => r.operation === "Converse", 3000);
    expect(record.outcome).toBe("aborted");
  });

  it("times out a stream that stays silent longer than the idle timeout", async () => {
    const { events, error } = await collect(
      clientOf(impatient).chatStream({
        chat: chatInit("nova-micro", "hi [[emulator:tokens=5]] [[emulator:chunk-delay-ms=1000]]"),
      }),
    );
    expect(events[0]?.event.case).toBe("start");
    expect(error?.reason).toBe("upstream_timeout");
    const record = await emulator.waitForRequest((r) => r.operation === "ConverseStream", 3000);
    expect(record.outcome).toBe("aborted");
  });

  it("refuses an unknown model without calling Bedrock", async () => {
    const error = await failure(inference().chat(chatInit("gpt-4o", "hi")));
    expect(error).toMatchObject({ reason: "model_not_found", param: "model" });
    expect(error.message).toBe(
      "The model `gpt-4o` does not exist or you do not have access to it.",
    );
    expect(emulator.requests()).toHaveLength(0);
  });

  it("refuses capabilities the model lacks before calling Bedrock", async () => {
    const tools = await failure(
      inference().chat(chatInit("llama3-8b", "hi", { toolConfig: { tools: [weatherTool] } })),
    );
    expect(tools).toMatchObject({ reason: "invalid_request", param: "tools" });
    const embedChat = await failure(inference().embed({ model: "nova-micro", inputs: ["a"] }));
    expect(embedChat).toMatchObject({ reason: "invalid_request", param: "model" });
    expect(emulator.requests()).toHaveLength(0);
  });

  it("lists the catalog's models", async () => {
    const { models } = await inference().listModels({});
    expect(models.map((m) => m.id)).toContain("anthropic.claude-3-haiku-20240307-v1:0");
    expect(models.find((m) => m.id === "cohere.embed-english-v3")).toMatchObject({
      kind: ModelKind.EMBEDDING,
      dimensions: [1024],
    });
  });

  it("reports its readiness on the gRPC health service", async () => {
    const health = createRpcClient(
      Health,
      createRpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }),
    );
    const check = () => health.check({ service: InferenceService.typeName });
    expect((await check()).status).toBe(ServingStatus.NOT_SERVING);
    server.setServing(true);
    expect((await check()).status).toBe(ServingStatus.SERVING);
    server.setServing(false);
  });
});
