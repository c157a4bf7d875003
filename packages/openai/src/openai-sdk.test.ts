import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { StrataError, toOpenAIError } from "@strata/errors";
import { ChatResponseSchema, EmbedResponseSchema, StopReason } from "@strata/proto";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatResponseToChatCompletion } from "./chat-response-to-chat-completion.ts";
import { createChunkTranslator } from "./chunk-translator.ts";
import { embedResponseToOpenAI } from "./embed-response-to-openai.ts";
import { parseChatCompletionRequest } from "./parse-chat-completion-request.ts";
import { parseEmbeddingRequest } from "./parse-embedding-request.ts";
import { createSseWriter } from "./sse-writer.ts";
import { FakeResponse } from "./testing/fake-response.ts";
import { streamEvent as e, textAndTwoToolCalls } from "./testing/stream-events.ts";

// What users notice: the official `openai` SDK, unmodified, reads what this package produces.

const context = { id: "chatcmpl-sdk", created: 1_700_000_000, model: "test-model" };
const params = { model: "test-model", messages: [{ role: "user" as const, content: "Hi" }] };

/** An SDK client whose HTTP exchanges are answered by `answer` (no network). */
function clientAnswering(answer: (body: unknown) => Response | Promise<Response>): OpenAI {
  return new OpenAI({
    apiKey: "sk-test",
    baseURL: "http://strata.test/v1",
    maxRetries: 0,
    fetch: async (_url, init) => answer(JSON.parse(String(init?.body ?? "null"))),
  });
}

/** The SSE text the writer produces for these neutral events. */
async function sseOf(events: ReturnType<typeof textAndTwoToolCalls>, includeUsage: boolean) {
  const res = new FakeResponse();
  const writer = createSseWriter(res);
  const translator = createChunkTranslator({ ...context, includeUsage });
  for (const event of events) for (const chunk of translator.next(event)) await writer.send(chunk);
  writer.done();
  return res.body;
}

const sseResponse = (body: string) =>
  new Response(body, { headers: { "content-type": "text/event-stream" } });

describe("the openai SDK", () => {
  it("reassembles a streamed answer with text, two parallel tool calls and usage", async () => {
    const sse = await sseOf(textAndTwoToolCalls(), true);
    const client = clientAnswering(() => sseResponse(sse));
    const stream = client.chat.completions.stream({
      ...params,
      stream_options: { include_usage: true },
    });
    const completion = await stream.finalChatCompletion();
    expect(completion).toMatchObject({
      id: "chatcmpl-sdk",
      model: "test-model",
      created: 1_700_000_000,
      choices: [
        {
          index: 0,
          finish_reason: "tool_calls",
          message: {
            role: "assistant",
            content: "Let me check.",
            tool_calls: [
              {
                id: "tooluse_a",
                type: "function",
                function: { name: "get_weather", arguments: '{"city":"Paris"}' },
              },
              {
                id: "tooluse_b",
                type: "function",
                function: { name: "get_time", arguments: '{"tz":"CET"}' },
              },
            ],
          },
        },
      ],
      usage: { prompt_tokens: 14, completion_tokens: 34, total_tokens: 48 },
    });
  });

  it("iterates the raw chunks of a streamed text answer", async () => {
    const sse = await sseOf(
      [e.start(), e.text(0, "Hel"), e.text(0, "lo"), e.stop(), e.metadata()],
      false,
    );
    const client = clientAnswering(() => sseResponse(sse));
    let text = "";
    let finish: string | null = null;
    for await (const chunk of await client.chat.completions.create({ ...params, stream: true })) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe("Hello");
    expect(finish).toBe("stop");
  });

  it("throws an APIError with our message, type and code when the stream fails midway", async () => {
    const res = new FakeResponse();
    const writer = createSseWriter(res);
    const translator = createChunkTranslator({ ...context, includeUsage: false });
    for (const event of [e.start(), e.text(0, "Partial")]) {
      for (const chunk of translator.next(event)) await writer.send(chunk);
    }
    writer.fail(
      toOpenAIError(new StrataError("upstream_unavailable", "Bedrock is unavailable.")).body,
    );
    const client = clientAnswering(() => sseResponse(res.body));

    const received: string[] = [];
    const error = await (async () => {
      for await (const chunk of await client.chat.completions.create({ ...params, stream: true })) {
        received.push(chunk.choices[0]?.delta.content ?? "");
      }
    })().catch((e: unknown) => e);

    expect(received).toEqual(["", "Partial"]);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({
      message: expect.stringContaining("Bedrock is unavailable."),
      type: "server_error",
      code: "service_unavailable",
    });
  });

  it("reads a non-streamed completion as the same object", async () => {
    const completion = chatResponseToChatCompletion(
      create(ChatResponseSchema, {
        content: [
          { block: { case: "text", value: "Hi there" } },
          { block: { case: "toolUse", value: { id: "t1", name: "f", inputJson: '{"a":1}' } } },
        ],
        stopReason: StopReason.TOOL_USE,
        usage: { inputTokens: 3, outputTokens: 4 },
      }),
      context,
    );
    const client = clientAnswering(() => Response.json(completion));
    expect(await client.chat.completions.create(params)).toEqual(completion);
  });

  it("throws BadRequestError with OpenAI's param and code for a request we refuse", async () => {
    const client = clientAnswering((body) => {
      try {
        parseChatCompletionRequest(body);
        return Response.json({});
      } catch (error) {
        const { status, body: errorBody } = toOpenAIError(error as StrataError);
        return Response.json(errorBody, { status });
      }
    });
    const error = await client.chat.completions
      .create({ ...params, temperature: 3 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({
      status: 400,
      param: "temperature",
      code: "decimal_above_max_value",
      type: "invalid_request_error",
    });
  });

  it("decodes base64 embeddings, its default, into the same float32 values", async () => {
    const vectors = [
      [0.1, -0.2, 0.30000001],
      [1e-8, 12345.678, -3.5],
    ];
    let requestedFormat: unknown;
    const client = clientAnswering((body) => {
      const request = parseEmbeddingRequest(body);
      requestedFormat = request.encoding_format;
      return Response.json(
        embedResponseToOpenAI(
          create(EmbedResponseSchema, {
            embeddings: vectors.map((values) => ({ values })),
            inputTokens: 4,
          }),
          { model: request.model, encodingFormat: request.encoding_format },
        ),
      );
    });
    const result = await client.embeddings.create({ model: "embed-model", input: ["a", "b"] });
    expect(requestedFormat).toBe("base64");
    expect(result.data.map((d) => d.embedding)).toEqual(vectors.map((v) => v.map(Math.fround)));
    expect(result.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
  });
});

describe("the openai SDK over a real node HTTP server", () => {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", async () => {
      const writer = createSseWriter(res);
      writer.open({ "x-request-id": "req-123" });
      writer.comment();
      const translator = createChunkTranslator({ ...context, includeUsage: true });
      for (const event of textAndTwoToolCalls()) {
        for (const chunk of translator.next(event)) await writer.send(chunk);
      }
      writer.done();
    });
  });
  let baseURL = "";
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("streams an answer the SDK reassembles, with our request id", async () => {
    const client = new OpenAI({ apiKey: "sk-test", baseURL, maxRetries: 0 });
    const stream = client.chat.completions.stream(params);
    const completion = await stream.finalChatCompletion();
    expect(completion.choices[0]?.message.tool_calls).toHaveLength(2);
    expect(completion.choices[0]?.message.content).toBe("Let me check.");
    const { response } = await client.chat.completions
      .create({ ...params, stream: true })
      .withResponse();
    expect(response.headers.get("x-request-id")).toBe("req-123");
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    await response.body?.cancel();
  });
});
