import {
  type BedrockRuntimeClient,
  ConverseStreamCommand,
  type ConverseStreamOutput,
  InternalServerException,
  ModelStreamErrorException,
  ServiceUnavailableException,
  ThrottlingException,
  type Tool,
  ValidationException,
} from "@aws-sdk/client-bedrock-runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BedrockEmulator, createBedrockEmulator } from "./index.ts";
import { createTestClients, expectBedrockError, type TestClients } from "./testing/test-clients.ts";

const HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0";

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

const command = (text: string, extra: { tools?: Tool[] } = {}) =>
  new ConverseStreamCommand({
    modelId: HAIKU,
    messages: [{ role: "user", content: [{ text }] }],
    ...(extra.tools ? { toolConfig: { tools: extra.tools } } : {}),
  });

/** Collects the stream's events; returns them with the error that ended it, if any. */
async function collect(client: BedrockRuntimeClient, text: string, extra: { tools?: Tool[] } = {}) {
  const response = await client.send(command(text, extra));
  const events: ConverseStreamOutput[] = [];
  let error: unknown;
  try {
    for await (const event of response.stream ?? []) events.push(event);
  } catch (e) {
    error = e;
  }
  return { events, error, requestId: response.$metadata.requestId };
}

const eventName = (event: ConverseStreamOutput) => Object.keys(event).find((k) => k !== "$unknown");

describe("ConverseStream", () => {
  it.each(["http2", "http1"] as const)(
    "streams Bedrock's event sequence over %s",
    async (transport) => {
      const { events, error } = await collect(clients[transport], "hello stream");
      expect(error).toBeUndefined();
      expect(events).toEqual([
        { messageStart: { role: "assistant" } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: "Emulated" } } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: " reply" } } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: " to:" } } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: " hello" } } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: " stream" } } },
        { contentBlockStop: { contentBlockIndex: 0 } },
        { messageStop: { stopReason: "end_turn" } },
        {
          metadata: {
            usage: { inputTokens: 3, outputTokens: 5, totalTokens: 8 },
            metrics: { latencyMs: expect.any(Number) },
          },
        },
      ]);
    },
  );

  it("records the stream with the number of frames sent", async () => {
    const { requestId } = await collect(clients.http2, "count");
    const record = await emulator.waitForRequest((r) => r.id === requestId);
    expect(record).toMatchObject({
      operation: "ConverseStream",
      outcome: "completed",
      status: 200,
      eventsSent: 8,
    });
  });

  it("streams tool calls as contentBlockStart plus partial JSON input", async () => {
    const tool: Tool = {
      toolSpec: {
        name: "lookup",
        inputSchema: {
          json: { type: "object", properties: { query: { type: "string" } }, required: ["query"] },
        },
      },
    };
    const { events } = await collect(clients.http2, "[[emulator:tool=lookup]]", { tools: [tool] });
    expect(events.map(eventName)).toEqual([
      "messageStart",
      "contentBlockDelta",
      "contentBlockDelta",
      "contentBlockStop",
      "contentBlockStart",
      "contentBlockDelta",
      "contentBlockDelta",
      "contentBlockDelta",
      "contentBlockStop",
      "messageStop",
      "metadata",
    ]);
    const start = events[4]?.contentBlockStart;
    expect(start?.contentBlockIndex).toBe(1);
    expect(start?.start?.toolUse?.name).toBe("lookup");
    expect(start?.start?.toolUse?.toolUseId).toMatch(/^tooluse_/);
    const input = events
      .slice(5, 8)
      .map((e) => e.contentBlockDelta?.delta?.toolUse?.input ?? "")
      .join("");
    expect(JSON.parse(input)).toEqual({ query: "example" });
    expect(events.at(-2)).toEqual({ messageStop: { stopReason: "tool_use" } });
  });

  it("delivers events incrementally as they are written", async () => {
    const started = Date.now();
    const response = await clients.http2.send(
      command("one two three four [[emulator:chunk-delay-ms=60]]"),
    );
    const headersAt = Date.now() - started;
    const arrivals: number[] = [];
    for await (const _event of response.stream ?? []) arrivals.push(Date.now() - started);
    // 11 events, 60 ms apart: the response started long before the stream finished,
    // and consecutive events arrived spread out rather than in one burst.
    expect(arrivals).toHaveLength(11);
    expect(headersAt).toBeLessThan(200);
    expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(400);
    expect((arrivals[1] ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(40);
  });

  it("fails before streaming for fault directives", async () => {
    await expectBedrockError(clients.http2.send(command("[[emulator:throttle]]")), {
      name: "ThrottlingException",
      type: ThrottlingException,
      status: 429,
    });
  });

  it("validates before streaming", async () => {
    await expectBedrockError(
      clients.http1.send(
        new ConverseStreamCommand({
          modelId: HAIKU,
          messages: [{ role: "assistant", content: [{ text: "x" }] }],
        }),
      ),
      { name: "ValidationException", type: ValidationException, status: 400 },
    );
  });
});

describe("ConverseStream mid-stream exceptions", () => {
  it.each([
    ["internalServerException (default)", "", "InternalServerException", InternalServerException],
    ["throttlingException", "throttlingException", "ThrottlingException", ThrottlingException],
    [
      "modelStreamErrorException",
      "modelStreamErrorException",
      "ModelStreamErrorException",
      ModelStreamErrorException,
    ],
    ["validationException", "validationException", "ValidationException", ValidationException],
    [
      "serviceUnavailableException",
      "serviceUnavailableException",
      "ServiceUnavailableException",
      ServiceUnavailableException,
    ],
  ])("sends %s after N deltas", async (_case, type, name, errorClass) => {
    const directive = type ? ` [[emulator:stream-error=${type}]]` : "";
    const { events, error, requestId } = await collect(
      clients.http2,
      `a b c d [[emulator:stream-error-after=2]]${directive}`,
    );
    expect(events.map(eventName)).toEqual([
      "messageStart",
      "contentBlockDelta",
      "contentBlockDelta",
    ]);
    expect(error).toBeInstanceOf(errorClass);
    expect((error as Error).name).toBe(name);
    const record = await emulator.waitForRequest((r) => r.id === requestId);
    expect(record).toMatchObject({
      outcome: "error",
      status: 200,
      errorType: type || "internalServerException",
      eventsSent: 4,
    });
  });

  it("carries originalStatusCode on modelStreamErrorException", async () => {
    const { error } = await collect(
      clients.http1,
      "x [[emulator:stream-error-after=1]] [[emulator:stream-error=modelStreamErrorException]]",
    );
    expect(error).toBeInstanceOf(ModelStreamErrorException);
    expect((error as ModelStreamErrorException).originalStatusCode).toBe(500);
  });

  it("sends the exception before messageStop when the reply has fewer deltas", async () => {
    const { events, error } = await collect(
      clients.http2,
      "short [[emulator:stream-error-after=99]]",
    );
    expect(events.map(eventName)).not.toContain("messageStop");
    expect(events.filter((e) => e.contentBlockDelta)).toHaveLength(4);
    expect(error).toBeInstanceOf(InternalServerException);
  });
});

describe("ConverseStream client aborts", () => {
  it.each(["http2", "http1"] as const)(
    "records an abort mid-stream over %s within ~100 ms",
    async (transport) => {
      const controller = new AbortController();
      const response = await clients[transport].send(
        command("one two three four five six seven [[emulator:chunk-delay-ms=50]]"),
        { abortSignal: controller.signal },
      );
      let abortedAt = 0;
      let received = 0;
      try {
        for await (const _event of response.stream ?? []) {
          received++;
          if (received === 2) {
            abortedAt = Date.now();
            controller.abort();
          }
        }
      } catch {
        // the HTTP/1.1 handler surfaces the abort as an error; HTTP/2 just ends the stream
      }
      const record = await emulator.waitForRequest(
        (r) => r.id === response.$metadata.requestId && r.outcome !== undefined,
        2000,
      );
      expect(record.outcome).toBe("aborted");
      expect((record.endedAt ?? Number.POSITIVE_INFINITY) - abortedAt).toBeLessThan(100);
      expect(record.eventsSent).toBeLessThan(12);
    },
  );

  it("records an abort during delay-ms", async () => {
    const controller = new AbortController();
    const pending = clients.http2
      .send(command("wait [[emulator:delay-ms=5000]]"), { abortSignal: controller.signal })
      .catch((e: unknown) => e);
    await expect
      .poll(() =>
        emulator
          .requests()
          .some((r) => r.outcome === undefined && r.operation === "ConverseStream"),
      )
      .toBe(true);
    const abortedAt = Date.now();
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    const record = await emulator.waitForRequest(
      (r) =>
        r.operation === "ConverseStream" &&
        r.outcome === "aborted" &&
        (r.endedAt ?? 0) >= abortedAt,
      2000,
    );
    expect((record.endedAt ?? Number.POSITIVE_INFINITY) - abortedAt).toBeLessThan(100);
    expect(record.eventsSent).toBeUndefined();
  });
});
