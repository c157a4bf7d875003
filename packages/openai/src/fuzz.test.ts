import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { StrataError } from "@strata/errors";
import {
  type ChatStreamResponse,
  ChatStreamResponseSchema,
  ImageFormat,
  StopReason,
} from "@strata/proto";
import fc from "fast-check";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { chatCompletionRequestToChatRequest } from "./chat-completion-request-to-chat-request.ts";
import { createChunkTranslator } from "./chunk-translator.ts";
import { parseChatCompletionRequest } from "./parse-chat-completion-request.ts";
import { parseEmbeddingRequest } from "./parse-embedding-request.ts";
import { createSseWriter } from "./sse-writer.ts";
import { stopReasonToFinishReason } from "./stop-reason.ts";
import { FakeResponse } from "./testing/fake-response.ts";
import { chatBody, pngBytes, richChatBody } from "./testing/fixtures.ts";
import { openApiErrors } from "./testing/openapi.ts";
import { streamEvent as e } from "./testing/stream-events.ts";

// Property tests: whatever JSON a client sends, the parsers answer with a valid request or a 400
// (a StrataError invalid_request) — never a crash, never a 500; whatever the upstream streams, the
// chunk translator and the SSE writer produce what OpenAI's clients read. Mutations of generated
// valid requests are in request.fuzz.test.ts. STRATA_FUZZ_SEED replays (test/fast-check-setup.ts).

const remoteImages = new Map([
  ["https://example.com/cat.png", { format: ImageFormat.PNG, data: pngBytes }],
]);

/** Parses then translates; returns the error thrown, if any. */
function outcome(parse: () => unknown, translate?: (parsed: never) => unknown): unknown {
  try {
    const parsed = parse();
    translate?.(parsed as never);
    return undefined;
  } catch (error) {
    return error;
  }
}

function expectValidOrBadRequest(error: unknown): void {
  if (error === undefined) return;
  expect(error).toBeInstanceOf(StrataError);
  const strata = error as StrataError;
  expect([strata.reason, strata.message]).toEqual(["invalid_request", strata.message]);
  expect(strata.message.length).toBeGreaterThan(0);
  expect(strata.message.length).toBeLessThan(1000);
}

const chat = (body: unknown) =>
  outcome(
    () => parseChatCompletionRequest(body),
    (request: Parameters<typeof chatCompletionRequestToChatRequest>[0]) =>
      chatCompletionRequestToChatRequest(request, { remoteImages }),
  );

/** Every path to a value inside a JSON document. */
function pathsOf(
  value: unknown,
  prefix: Array<string | number> = [],
): Array<Array<string | number>> {
  const here = [prefix];
  if (Array.isArray(value)) {
    return here.concat(value.flatMap((v, i) => pathsOf(v, [...prefix, i])));
  }
  if (value !== null && typeof value === "object") {
    return here.concat(Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...prefix, k])));
  }
  return here;
}

type Mutation =
  | { path: number; kind: "delete" }
  | { path: number; kind: "replace"; value: unknown };

/** Applies mutations to a copy of `seed`, each at one of its original paths (if still there). */
function mutate(seed: unknown, mutations: Mutation[]): unknown {
  const doc = { root: structuredClone(seed) };
  const paths = pathsOf(seed);
  for (const mutation of mutations) {
    const path = ["root", ...(paths[mutation.path % paths.length] ?? [])];
    const key = path.pop() as string | number;
    let parent: unknown = doc;
    for (const segment of path) {
      parent =
        parent !== null && typeof parent === "object" ? (parent as never)[segment] : undefined;
    }
    if (parent === null || typeof parent !== "object") continue;
    const container = parent as Record<string | number, unknown>;
    if (mutation.kind === "delete") {
      if (Array.isArray(container) && typeof key === "number") container.splice(key, 1);
      else delete container[key];
    } else {
      container[key] = mutation.value;
    }
  }
  return doc.root;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ path: fc.nat(), kind: fc.constant("delete" as const) }),
  fc.record({
    path: fc.nat(),
    kind: fc.constant("replace" as const),
    value: fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.constantFrom(
        "",
        "user",
        "assistant",
        "tool",
        "function",
        "text",
        "image_url",
        "auto",
        "none",
      ),
      fc.constantFrom(0, -1, 1.5, 2 ** 40, true, null, [], {}),
    ),
  }),
);

describe("parseChatCompletionRequest, for any JSON,", () => {
  it("returns a request the translator accepts, or a 400", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (body) => expectValidOrBadRequest(chat(body))),
      { numRuns: 500 },
    );
  });

  it("does so for arbitrary objects shaped like requests", () => {
    const messageArb = fc.record(
      {
        role: fc.constantFrom("system", "developer", "user", "assistant", "tool", "function", "x"),
        content: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 3 })),
        tool_call_id: fc.constantFrom("call_1", "call_2", "x"),
        tool_calls: fc.jsonValue({ maxDepth: 4 }),
      },
      { requiredKeys: ["role"] },
    );
    fc.assert(
      fc.property(
        fc.record({ model: fc.string(), messages: fc.array(messageArb, { maxLength: 6 }) }),
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
        (base, extra) => expectValidOrBadRequest(chat({ ...extra, ...base })),
      ),
      { numRuns: 500 },
    );
  });

  it("does so for valid requests with random mutations", () => {
    const seed = richChatBody();
    fc.assert(
      fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (mutations) =>
        expectValidOrBadRequest(chat(mutate(seed, mutations))),
      ),
      { numRuns: 1000 },
    );
  });

  it("does so for the minimal request with random mutations", () => {
    fc.assert(
      fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (mutations) =>
        expectValidOrBadRequest(chat(mutate(chatBody(), mutations))),
      ),
      { numRuns: 500 },
    );
  });
});

describe("parseEmbeddingRequest, for any JSON,", () => {
  it("returns a request or a 400", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (body) =>
        expectValidOrBadRequest(outcome(() => parseEmbeddingRequest(body))),
      ),
      { numRuns: 500 },
    );
  });

  it("does so for valid requests with random mutations", () => {
    const seed = { model: "m", input: ["a", "b"], encoding_format: "base64", dimensions: 256 };
    fc.assert(
      fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (mutations) =>
        expectValidOrBadRequest(outcome(() => parseEmbeddingRequest(mutate(seed, mutations)))),
      ),
      { numRuns: 500 },
    );
  });
});

/** A generated answer: text, reasoning and tool-call blocks, each arriving in fragments. */
type Block =
  | { kind: "text"; fragments: string[] }
  | { kind: "reasoning"; fragments: string[] }
  | { kind: "tool"; name: string; fragments: string[] };

const fragmentsArb = fc.array(fc.string({ minLength: 1, maxLength: 12 }), {
  minLength: 1,
  maxLength: 4,
});
const blockArb: fc.Arbitrary<Block> = fc.oneof(
  fc.record({ kind: fc.constant("text" as const), fragments: fragmentsArb }),
  fc.record({ kind: fc.constant("reasoning" as const), fragments: fragmentsArb }),
  fc
    .record({
      name: fc.stringMatching(/^[a-zA-Z0-9_-]{1,20}$/),
      args: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), {
        maxKeys: 3,
      }),
      cuts: fc.array(fc.nat(), { maxLength: 3 }),
    })
    .map(({ name, args, cuts }) => {
      const json = JSON.stringify(args);
      const points = [...new Set(cuts.map((c) => c % json.length))].sort((a, b) => a - b);
      const fragments = [0, ...points]
        .map((start, i) => json.slice(start, [...points, json.length][i]))
        .filter((f) => f !== "");
      return { kind: "tool" as const, name, fragments };
    }),
);

function eventsOf(blocks: Block[], stopReason: StopReason): ChatStreamResponse[] {
  const events = [e.start()];
  let tools = 0;
  for (const [index, block] of blocks.entries()) {
    if (block.kind === "tool") events.push(e.toolStart(index, `tooluse_${tools++}`, block.name));
    for (const fragment of block.fragments) {
      if (block.kind === "text") events.push(e.text(index, fragment));
      else if (block.kind === "reasoning") events.push(e.reasoning(index, fragment));
      else events.push(e.toolInput(index, fragment));
    }
    events.push(e.blockStop(index));
  }
  events.push(e.stop(stopReason), e.metadata(3, 4));
  return events;
}

describe("createChunkTranslator, for any answer,", () => {
  it("streams spec-valid chunks that the openai SDK reassembles into the same answer", async () => {
    const stopReasons = Object.values(StopReason).filter(
      (v): v is StopReason => typeof v === "number",
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(blockArb, { maxLength: 5 }),
        fc.constantFrom(...stopReasons),
        fc.boolean(),
        async (blocks, stopReason, includeUsage) => {
          const res = new FakeResponse();
          const writer = createSseWriter(res);
          const translator = createChunkTranslator({
            id: "c",
            created: 1,
            model: "m",
            includeUsage,
          });
          for (const event of eventsOf(blocks, stopReason)) {
            for (const chunk of translator.next(event)) {
              expect(openApiErrors("CreateChatCompletionStreamResponse", chunk)).toEqual([]);
              await writer.send(chunk);
            }
          }
          writer.done();
          const client = new OpenAI({
            apiKey: "sk-test",
            baseURL: "http://strata.test/v1",
            maxRetries: 0,
            fetch: async () =>
              new Response(res.body, { headers: { "content-type": "text/event-stream" } }),
          });
          const completion = await client.chat.completions
            .stream({ model: "m", messages: [{ role: "user", content: "x" }] })
            .finalChatCompletion();
          const [choice] = completion.choices;
          const join = (kind: Block["kind"]) =>
            blocks.flatMap((b) => (b.kind === kind ? b.fragments : [])).join("");
          expect(choice?.message.content).toBe(join("text"));
          expect(choice?.finish_reason).toBe(stopReasonToFinishReason(stopReason));
          const tools = blocks.filter((b) => b.kind === "tool");
          expect(choice?.message.tool_calls ?? []).toEqual(
            tools.map((b, i) => ({
              id: `tooluse_${i}`,
              type: "function",
              function: { name: b.name, arguments: b.fragments.join("") },
            })),
          );
          if (includeUsage) expect(completion.usage?.total_tokens).toBe(7);
        },
      ),
      { numRuns: 100 },
    );
  });
});

type StreamEvent = MessageInitShape<typeof ChatStreamResponseSchema>["event"];
const blockIndex = fc.nat({ max: 4 });
const uint32 = fc.nat({ max: 2 ** 32 - 1 });

/** Any neutral stream event, in any order, including ones a correct upstream never sends. */
const anyEvent: fc.Arbitrary<ChatStreamResponse> = fc
  .oneof(
    fc.record({ case: fc.constant("start" as const), value: fc.record({ model: fc.string() }) }),
    fc.record({
      case: fc.constant("blockStart" as const),
      value: fc.record(
        { index: blockIndex, toolUse: fc.record({ id: fc.string(), name: fc.string() }) },
        { requiredKeys: ["index"] },
      ),
    }),
    fc.record({
      case: fc.constant("blockDelta" as const),
      value: fc.record({
        index: blockIndex,
        delta: fc.oneof(
          fc.record({
            case: fc.constantFrom(
              "text" as const,
              "reasoningText" as const,
              "toolInputJson" as const,
            ),
            value: fc.string({ unit: "binary", maxLength: 12 }),
          }),
          fc.constant({ case: undefined }),
        ),
      }),
    }),
    fc.record({ case: fc.constant("blockStop" as const), value: fc.record({ index: blockIndex }) }),
    fc.record({
      case: fc.constant("stop" as const),
      // Unknown enum values too: a newer inference service may send them.
      value: fc.record({ stopReason: fc.integer({ min: 0, max: 40 }) as fc.Arbitrary<StopReason> }),
    }),
    fc.record({
      case: fc.constant("metadata" as const),
      value: fc.record(
        {
          usage: fc.record({
            inputTokens: uint32,
            outputTokens: uint32,
            cacheReadInputTokens: uint32,
            cacheWriteInputTokens: uint32,
          }),
        },
        { requiredKeys: [] },
      ),
    }),
    fc.constant({ case: undefined }),
  )
  .map((event) => create(ChatStreamResponseSchema, { event: event as StreamEvent }));

describe("createChunkTranslator, for any sequence of events,", () => {
  it("emits spec-valid chunks, or fails with a StrataError on an inconsistent stream", () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 20 }), fc.boolean(), (events, includeUsage) => {
        const translator = createChunkTranslator({ id: "c", created: 1, model: "m", includeUsage });
        for (const event of events) {
          let chunks: unknown[];
          try {
            chunks = translator.next(event);
          } catch (error) {
            // Tool input for a block that never started as a tool call: an upstream bug, a 500.
            expect(error).toBeInstanceOf(StrataError);
            return;
          }
          for (const chunk of chunks) {
            expect(openApiErrors("CreateChatCompletionStreamResponse", chunk)).toEqual([]);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("createSseWriter, for any JSON,", () => {
  it("writes one `data:` line per value that parses back to the value", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 5 }),
        async (values) => {
          const res = new FakeResponse();
          const writer = createSseWriter(res);
          for (const value of values) await writer.send(value);
          writer.done();
          const frames = res.writes.join("").split("\n\n");
          expect(frames.pop()).toBe("");
          expect(frames.pop()).toBe("data: [DONE]");
          expect(frames.map((frame) => frame.split(/\r\n|\r|\n/).length)).toEqual(
            values.map(() => 1),
          );
          expect(
            frames.map((frame) => JSON.stringify(JSON.parse(frame.slice("data: ".length)))),
          ).toEqual(values.map((value) => JSON.stringify(value)));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
