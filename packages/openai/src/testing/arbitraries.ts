import fc from "fast-check";
import { jpegDataUrl, pngDataUrl } from "./fixtures.ts";

// Test support: fast-check arbitraries of *valid* OpenAI requests (every one is accepted by the
// parsers and translates), and of the hostile values the mutation properties put into them.

/** An http(s) image the fuzz tests' translation options provide (as if the gateway fetched it). */
export const fetchedImageUrl = "https://example.com/cat.png";

/** Text that is not blank (Bedrock refuses blank text, so translation drops it). */
const nonBlank = fc.string({ minLength: 1, maxLength: 16 }).map((s) => `t${s}`);
/** Function and schema names: OpenAI's `^[a-zA-Z0-9_-]{1,64}$`. */
const identifier = fc.stringMatching(/^[a-zA-Z0-9_-]{1,12}$/);

const textPart = nonBlank.map((text) => ({ type: "text", text }));
const imagePart = fc
  .record({
    url: fc.constantFrom(pngDataUrl, jpegDataUrl, fetchedImageUrl),
    detail: fc.constantFrom(undefined, "auto", "low", "high"),
  })
  .map(({ url, detail }) => ({
    type: "image_url",
    image_url: detail === undefined ? { url } : { url, detail },
  }));

const textContent = fc.oneof(nonBlank, fc.array(textPart, { minLength: 1, maxLength: 2 }));
const userMessage = fc.record({
  role: fc.constant("user"),
  content: fc.oneof(
    nonBlank,
    fc.array(fc.oneof(textPart, imagePart), { minLength: 1, maxLength: 3 }),
  ),
});
const systemMessage = fc.record({
  role: fc.constantFrom("system", "developer"),
  content: textContent,
});
const assistantMessage = fc.record({ role: fc.constant("assistant"), content: nonBlank });

/** A JSON object usable as tool arguments. */
const argumentsObject = fc.dictionary(identifier, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });

/** An assistant message calling tools, then the tool messages answering each call. */
type ToolRound = {
  calls: Array<{ name: string; args: string }>;
  answers: unknown[];
  order: number[];
};
const toolRound: fc.Arbitrary<ToolRound> = fc
  .array(
    fc.record({
      name: identifier,
      args: fc.oneof(
        argumentsObject.map((a) => JSON.stringify(a)),
        fc.constant(""),
      ),
    }),
    { minLength: 1, maxLength: 3 },
  )
  .chain((calls) =>
    fc.record({
      calls: fc.constant(calls),
      answers: fc.array(textContent, { minLength: calls.length, maxLength: calls.length }),
      order: fc.shuffledSubarray(
        calls.map((_, i) => i),
        { minLength: calls.length, maxLength: calls.length },
      ),
    }),
  );

type Turn = { kind: "message"; message: unknown } | { kind: "tools"; round: ToolRound };
const turn: fc.Arbitrary<Turn> = fc.oneof(
  fc.oneof(userMessage, assistantMessage, systemMessage).map((message) => ({
    kind: "message" as const,
    message,
  })),
  toolRound.map((round) => ({ kind: "tools" as const, round })),
);

/** A conversation: optional instructions, a user message, then any valid turns. */
const messages = fc
  .record({
    system: fc.option(systemMessage, { nil: undefined }),
    first: userMessage,
    turns: fc.array(turn, { maxLength: 4 }),
  })
  .map(({ system, first, turns }) => {
    const out: unknown[] = system ? [system, first] : [first];
    let ids = 0;
    for (const t of turns) {
      if (t.kind === "message") {
        out.push(t.message);
        continue;
      }
      const calls = t.round.calls.map((call) => ({ ...call, id: `call_${ids++}` }));
      out.push({
        role: "assistant",
        content: null,
        tool_calls: calls.map(({ id, name, args }) => ({
          id,
          type: "function",
          function: { name, arguments: args },
        })),
      });
      for (const i of t.round.order) {
        out.push({ role: "tool", tool_call_id: calls[i]?.id, content: t.round.answers[i] });
      }
    }
    return out;
  });

/** A JSON Schema for a function's parameters. */
const parametersSchema = fc.record(
  {
    type: fc.constant("object"),
    properties: fc.dictionary(
      identifier,
      fc.record({ type: fc.constantFrom("string", "number", "integer", "boolean") }),
      { maxKeys: 3 },
    ),
    required: fc.constant([] as string[]),
  },
  { requiredKeys: ["type"] },
);

const tools = fc.uniqueArray(identifier, { maxLength: 3 }).chain((names) =>
  fc.record({
    tools: fc.constant(
      names.map((name) => ({ type: "function", function: { name } }) as Record<string, unknown>),
    ),
    schemas: fc.array(fc.option(parametersSchema, { nil: undefined }), {
      minLength: names.length,
      maxLength: names.length,
    }),
    description: fc.option(nonBlank, { nil: undefined }),
    choice:
      names.length === 0
        ? fc.constant(undefined)
        : fc.oneof(
            fc.constantFrom(undefined, "none", "auto", "required"),
            fc.constantFrom(...names).map((name) => ({ type: "function", function: { name } })),
          ),
  }),
);

const responseFormat = fc.oneof(
  fc.constant(undefined),
  fc.constant({ type: "text" }),
  fc.constant({ type: "json_object" }),
  fc.record({
    type: fc.constant("json_schema"),
    json_schema: fc.record(
      { name: identifier, schema: parametersSchema, strict: fc.boolean() },
      { requiredKeys: ["name"] },
    ),
  }),
);

/** Drops the keys whose value is undefined (absent, not `null`). */
function defined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

/** A valid `POST /v1/chat/completions` body exercising most of what Strata accepts. */
export const validChatRequest: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    model: fc.constantFrom(
      "test-model",
      "claude-3-haiku",
      "anthropic.claude-3-haiku-20240307-v1:0",
    ),
    messages,
    tools,
    response_format: responseFormat,
    max_tokens: fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: undefined }),
    max_completion_tokens: fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: undefined }),
    temperature: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: undefined }),
    top_p: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    stop: fc.option(fc.oneof(nonBlank, fc.array(nonBlank, { minLength: 1, maxLength: 4 })), {
      nil: undefined,
    }),
    stream: fc.option(fc.boolean(), { nil: undefined }),
    include_usage: fc.boolean(),
    parallel_tool_calls: fc.option(fc.boolean(), { nil: undefined }),
    user: fc.option(nonBlank, { nil: undefined }),
  })
  .map(({ tools: declared, include_usage, ...rest }) => {
    const toolList = declared.tools.map((tool, i) => {
      const fn = tool.function as Record<string, unknown>;
      const parameters = declared.schemas[i];
      return {
        ...tool,
        function: defined({ ...fn, description: declared.description, parameters }),
      };
    });
    return defined({
      ...rest,
      tools: toolList.length > 0 ? toolList : undefined,
      tool_choice: declared.choice,
      parallel_tool_calls: toolList.length > 0 ? rest.parallel_tool_calls : undefined,
      stream_options: rest.stream === true ? { include_usage } : undefined,
    });
  });

/** A token id: those below 100256 are tokens of cl100k_base, those below 199998 of o200k_base. */
const tokenId = fc.oneof(
  fc.integer({ min: 0, max: 100_255 }),
  fc.integer({ min: 0, max: 199_997 }),
);
const tokenArray = fc.array(tokenId, { minLength: 1, maxLength: 8 });

/** A valid `POST /v1/embeddings` body: text, a list of texts, a token array or token arrays. */
export const validEmbeddingRequest: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    model: fc.constantFrom("titan-embed-text-v2", "cohere-embed-english-v3"),
    input: fc.oneof(
      nonBlank,
      fc.array(nonBlank, { minLength: 1, maxLength: 4 }),
      tokenArray,
      fc.array(tokenArray, { minLength: 1, maxLength: 4 }),
    ),
    encoding_format: fc.constantFrom(undefined, "float", "base64"),
    dimensions: fc.option(fc.constantFrom(256, 512, 1024), { nil: undefined }),
    user: fc.option(nonBlank, { nil: undefined }),
  })
  .map(defined);

/** One megabyte of text. */
const hugeString = "x".repeat(1_000_000);
/** Values nested this deep, built by JSON.parse (as a request body would be). */
const nested = (depth: number) => JSON.parse(`${'{"a":'.repeat(depth)}[]${"}".repeat(depth)}`);
const deep200 = nested(200);
const deep10k = nested(10_000);

/**
 * A hostile replacement for one field of a valid request: a wrong JSON type, an out-of-range or
 * non-integer number, a number sent as a string, an empty, huge or ill-formed (lone surrogate)
 * string, a huge array, a value nested past the limits, or arbitrary JSON.
 */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 31, 2 ** 53, 1e308, -1e308, [], {}),
  fc.constantFrom("", " ", "\u0000", "\ud800", "user", "function", "image_url", "auto", "none"),
  fc.constantFrom("10", "0.5", "1e3", "true", "null"),
  fc.constantFrom(hugeString, deep200, deep10k),
  fc.constant(Array.from({ length: 3_000 }, () => ({ type: "text", text: "x" }))),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.jsonValue({ maxDepth: 3 }),
);
