import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandInput,
} from "@aws-sdk/client-bedrock-runtime";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { StrataError } from "@strata/errors";
import { ChatRequestSchema, Role } from "@strata/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CatalogEntry, createDefaultCatalog } from "./catalog.ts";
import { chatRequestToConverse, maxJsonDocumentDepth } from "./chat-request-to-converse.ts";

// Property tests: whatever neutral request reaches inference (the gateway validates, but this
// service must not trust that), translating it to Converse and serialising it with the real AWS
// SDK either works or is a 4xx StrataError — never a TypeError, a RangeError from a serialiser, or
// another 500. The SDK sends through a fake handler, so no network is involved. STRATA_FUZZ_SEED
// replays (test/fast-check-setup.ts).

type Init = MessageInitShape<typeof ChatRequestSchema>;

const catalog = createDefaultCatalog({ region: "us-east-1" });
const model = (name: string): CatalogEntry => {
  const entry = catalog.resolve(name);
  if (!entry) throw new Error(`no ${name}`);
  return entry;
};
const haiku = model("claude-3-haiku");
/** Chat models of each capability set, and now and then an embedding model (always a 400). */
const anyEntry = fc.oneof(
  {
    weight: 19,
    arbitrary: fc.constantFrom(
      ...["claude-3-haiku", "claude-sonnet-4", "nova-micro", "llama3-8b", "mistral-7b"].map(model),
    ),
  },
  { weight: 1, arbitrary: fc.constant(model("titan-embed-text-v2")) },
);

/** A Bedrock client whose handler answers every Converse call with a minimal valid answer. */
const client = new BedrockRuntimeClient({
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDFUZZ", secretAccessKey: "fuzz" },
  maxAttempts: 1,
  requestHandler: {
    handle: async () => ({
      response: {
        statusCode: 200,
        headers: { "content-type": "application/json" },
        body: new TextEncoder().encode(
          JSON.stringify({
            output: { message: { role: "assistant", content: [{ text: "ok" }] } },
            stopReason: "end_turn",
            usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
            metrics: { latencyMs: 1 },
          }),
        ),
      },
    }),
  } as never,
});

/** `depth` levels of `{"a": ...}` as JSON text. */
const nestedJson = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${"}".repeat(depth - 1)}`;

/** JSON text as a client or an upstream might put it in a document field. */
const jsonText = fc.oneof(
  { weight: 2, arbitrary: fc.constant("") },
  {
    weight: 6,
    arbitrary: fc
      .dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 3 }))
      .map((v) => JSON.stringify(v)),
  },
  { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
  // Around the depth limit, and far beyond it.
  { weight: 2, arbitrary: fc.integer({ min: 100, max: 160 }).map(nestedJson) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 5_000 }).map(nestedJson) },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);
const name = fc.oneof(fc.stringMatching(/^[a-zA-Z0-9_-]{1,8}$/), fc.string({ maxLength: 6 }));
/** Mostly a real role; now and then none, or one this service does not know. */
const role = fc.oneof(
  { weight: 50, arbitrary: fc.constantFrom(Role.USER, Role.ASSISTANT) },
  { weight: 1, arbitrary: fc.constantFrom(Role.UNSPECIFIED, 9 as Role) },
);
const image = fc.record({
  format: fc.integer({ min: 0, max: 6 }),
  data: fc.uint8Array({ maxLength: 16 }),
});

/** Content blocks, mostly ones a conversation has; an empty block (a 400) now and then. */
const block = fc.oneof(
  {
    weight: 40,
    arbitrary: fc.record({
      case: fc.constant("text" as const),
      value: fc.string({ maxLength: 8 }),
    }),
  },
  { weight: 8, arbitrary: fc.record({ case: fc.constant("image" as const), value: image }) },
  {
    weight: 10,
    arbitrary: fc.record({
      case: fc.constant("toolUse" as const),
      value: fc.record({ id: fc.string({ maxLength: 6 }), name, inputJson: jsonText }),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      case: fc.constant("toolResult" as const),
      value: fc.record({
        toolUseId: fc.string({ maxLength: 6 }),
        status: fc.integer({ min: 0, max: 3 }),
        content: fc.array(
          fc.record({
            content: fc.oneof(
              fc.record({ case: fc.constant("text" as const), value: fc.string({ maxLength: 8 }) }),
              fc.record({ case: fc.constant("image" as const), value: image }),
              fc.constant({ case: undefined }),
            ),
          }),
          { maxLength: 2 },
        ),
      }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      case: fc.constant("reasoning" as const),
      value: fc.record({
        text: fc.string({ maxLength: 8 }),
        signature: fc.string({ maxLength: 4 }),
      }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ case: undefined }) },
);

/** Mostly in Bedrock's range, sometimes not a number Bedrock could take at all. */
const number = fc.oneof(
  { arbitrary: fc.double({ min: 0, max: 1, noNaN: true }), weight: 30 },
  fc.double({ min: -1, max: 3 }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY),
);

/** Any neutral chat request, consistent or not. */
const anyChatRequest: fc.Arbitrary<Init> = fc.record(
  {
    model: fc.constantFrom("m", "claude-3-haiku"),
    system: fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 }),
    messages: fc.array(
      fc.record({ role, content: fc.array(fc.record({ block }), { maxLength: 3 }) }),
      { minLength: 1, maxLength: 4 },
    ),
    toolConfig: fc.record({
      tools: fc.array(
        fc.record({
          name,
          description: fc.string({ maxLength: 6 }),
          inputSchemaJson: jsonText,
          strict: fc.boolean(),
        }),
        { maxLength: 3 },
      ),
      choice: fc.record({
        choice: fc.oneof(
          fc.constant({ case: undefined }),
          fc.constant({ case: "auto" as const, value: {} }),
          fc.constant({ case: "any" as const, value: {} }),
          fc.constant({ case: "none" as const, value: {} }),
          fc.record({ case: fc.constant("tool" as const), value: fc.record({ name }) }),
        ),
      }),
      disableParallelToolUse: fc.boolean(),
    }),
    inferenceConfig: fc.record(
      {
        maxTokens: fc.oneof(
          { arbitrary: fc.integer({ min: 1, max: 1_024 }), weight: 30 },
          fc.constantFrom(0, 10_000, 4_294_967_295),
        ),
        temperature: number,
        topP: number,
        stopSequences: fc.array(fc.string({ maxLength: 4 }), { maxLength: 5 }),
      },
      { requiredKeys: [] },
    ),
    responseFormat: fc.record({
      format: fc.oneof(
        fc.constant({ case: undefined }),
        fc.constant({ case: "text" as const, value: {} }),
        fc.constant({ case: "jsonObject" as const, value: {} }),
        fc.record({
          case: fc.constant("jsonSchema" as const),
          value: fc.record({
            name,
            description: fc.string({ maxLength: 6 }),
            schemaJson: jsonText,
            strict: fc.boolean(),
          }),
        }),
      ),
    }),
  },
  { requiredKeys: ["model", "messages"] },
) as fc.Arbitrary<Init>;

/** Translates, then serialises with the SDK; returns the error, if any. */
async function outcome(init: Init, entry: CatalogEntry): Promise<unknown> {
  let input: ConverseCommandInput;
  try {
    input = chatRequestToConverse(create(ChatRequestSchema, init), entry).input;
  } catch (error) {
    return error;
  }
  // Whatever translation returns, the SDK must be able to send.
  await client.send(new ConverseCommand(input));
  return undefined;
}

describe("chatRequestToConverse, for any neutral request,", () => {
  it("gives a Converse input the AWS SDK sends, or a 4xx StrataError", async () => {
    await fc.assert(
      fc.asyncProperty(anyChatRequest, anyEntry, async (init, entry) => {
        const error = await outcome(init, entry);
        if (error === undefined) return;
        expect(error).toBeInstanceOf(StrataError);
        expect((error as StrataError).httpStatus).toBe(400);
      }),
      { numRuns: 1500 },
    );
  });

  it.each([
    [
      "tool parameters",
      { toolConfig: { tools: [{ name: "f", inputSchemaJson: nestedJson(3_000) }] } },
      "tools[0].function.parameters",
    ],
    [
      "a json_schema",
      {
        responseFormat: {
          format: { case: "jsonSchema", value: { name: "s", schemaJson: nestedJson(3_000) } },
        },
      },
      "response_format",
    ],
    [
      "tool call arguments",
      {
        messages: [
          { role: 1, content: [{ block: { case: "text", value: "hi" } }] },
          {
            role: 2,
            content: [
              {
                block: {
                  case: "toolUse",
                  value: { id: "t", name: "f", inputJson: nestedJson(3_000) },
                },
              },
            ],
          },
          {
            role: 1,
            content: [{ block: { case: "toolResult", value: { toolUseId: "t", content: [] } } }],
          },
        ],
      },
      "messages",
    ],
  ] as Array<[string, Init, string]>)(
    "refuses %s 3,000 levels deep with a 400 (was a RangeError in the SDK's serialiser: a 500)",
    async (_, init, param) => {
      const request: Init = {
        model: "m",
        messages: [{ role: 1, content: [{ block: { case: "text", value: "hi" } }] }],
        ...init,
      };
      const error = await outcome(request, haiku);
      expect(error).toBeInstanceOf(StrataError);
      expect(error).toMatchObject({ reason: "invalid_request", param, code: "nested_too_deeply" });
    },
  );

  it(`accepts documents ${maxJsonDocumentDepth} levels deep, which the SDK sends`, async () => {
    const request: Init = {
      model: "m",
      messages: [{ role: 1, content: [{ block: { case: "text", value: "hi" } }] }],
      toolConfig: { tools: [{ name: "f", inputSchemaJson: nestedJson(maxJsonDocumentDepth) }] },
    };
    expect(await outcome(request, haiku)).toBeUndefined();
  });
});
