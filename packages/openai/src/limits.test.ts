import { StrataError } from "@strata/errors";
import { describe, expect, it } from "vitest";
import { chatCompletionRequestToChatRequest } from "./chat-completion-request-to-chat-request.ts";
import { pathTooDeep } from "./json-depth.ts";
import {
  maxContentParts,
  maxEmbeddingInputLength,
  maxEmbeddingInputs,
  maxEmbeddingInputTokens,
  maxImages,
  maxImageUrlLength,
  maxJsonDepth,
  maxMessages,
  maxModelLength,
  maxStopSequences,
  maxTextLength,
  maxTools,
} from "./limits.ts";
import { parseChatCompletionRequest } from "./parse-chat-completion-request.ts";
import { parseEmbeddingRequest } from "./parse-embedding-request.ts";
import { chatBody, chatWith, functionTool, pngDataUrl } from "./testing/fixtures.ts";

// Each limit of limits.ts: the largest request within it is accepted, one more is a 400 naming
// the field. Deep values are built as JSON text and parsed, as the gateway receives them.

/** `n` levels of `[...]` around `inner`, as JSON.parse builds them: no recursion involved. */
const nestedArrays = (n: number, inner = "1") =>
  JSON.parse(`${"[".repeat(n)}${inner}${"]".repeat(n)}`);
/** `n` levels of `{"a": ...}` around `{}`. */
const nestedObjects = (n: number) => JSON.parse(`${'{"a":'.repeat(n - 1)}{}${"}".repeat(n - 1)}`);
/** A JSON text of `n` levels of `{"a": ...}`. */
const nestedObjectsText = (n: number) => `${'{"a":'.repeat(n - 1)}{}${"}".repeat(n - 1)}`;

const user = { role: "user", content: "Hi" };
const text = (n: number) => "x".repeat(n);
const textPart = { type: "text", text: "x" };
const imagePart = { type: "image_url", image_url: { url: pngDataUrl } };
const userParts = (parts: unknown[]) => chatWith([{ role: "user", content: parts }]);
/** Messages alternating user/assistant, `n` in all. */
const conversation = (n: number) =>
  Array.from({ length: n }, (_, i) => (i % 2 ? { role: "assistant", content: "ok" } : user));
/** A body whose `metadata.deep` holds a value reaching exactly `depth` levels in the body. */
const bodyOfDepth = (depth: number) => chatBody({ deep: nestedArrays(depth - 1) });
/** Tool parameters making the body `depth` levels deep (body, tools, [0], function: 4 above). */
const toolParametersOfDepth = (depth: number) =>
  chatBody({ tools: [functionTool("f", nestedObjects(depth - 4))] });
/** A conversation with one tool call (with these arguments) and its answer. */
const toolCallWithArguments = (args: string) =>
  chatWith([
    user,
    {
      role: "assistant",
      tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: args } }],
    },
    { role: "tool", tool_call_id: "c", content: "done" },
  ]);
/** A tool call whose arguments are `depth` levels deep. */
const toolArgumentsOfDepth = (depth: number) => toolCallWithArguments(nestedObjectsText(depth));

function refusal(parse: () => unknown): StrataError {
  try {
    parse();
  } catch (error) {
    if (error instanceof StrataError) return error;
    throw error;
  }
  throw new Error("the request was accepted");
}

interface Limit {
  limit: string;
  within: () => unknown;
  beyond: () => unknown;
  param: string;
  code: string;
  embeddings?: boolean;
}

const limits: Limit[] = [
  {
    limit: `${maxMessages} messages`,
    within: () => chatWith(conversation(maxMessages)),
    beyond: () => chatWith(conversation(maxMessages + 1)),
    param: "messages",
    code: "array_above_max_length",
  },
  {
    limit: `${maxTools} tools`,
    within: () =>
      chatBody({ tools: Array.from({ length: maxTools }, (_, i) => functionTool(`f${i}`)) }),
    beyond: () =>
      chatBody({ tools: Array.from({ length: maxTools + 1 }, (_, i) => functionTool(`f${i}`)) }),
    param: "tools",
    code: "array_above_max_length",
  },
  {
    limit: `${maxStopSequences} stop sequences`,
    within: () => chatBody({ stop: Array.from({ length: maxStopSequences }, (_, i) => `s${i}`) }),
    beyond: () =>
      chatBody({ stop: Array.from({ length: maxStopSequences + 1 }, (_, i) => `s${i}`) }),
    param: "stop",
    code: "array_above_max_length",
  },
  {
    limit: `${maxContentParts} content parts in a user message`,
    within: () => userParts(Array.from({ length: maxContentParts }, () => textPart)),
    beyond: () => userParts(Array.from({ length: maxContentParts + 1 }, () => textPart)),
    param: "messages[0].content",
    code: "array_above_max_length",
  },
  {
    limit: `${maxContentParts} content parts in a system message`,
    within: () =>
      chatWith([
        { role: "system", content: Array.from({ length: maxContentParts }, () => textPart) },
        user,
      ]),
    beyond: () =>
      chatWith([
        { role: "system", content: Array.from({ length: maxContentParts + 1 }, () => textPart) },
        user,
      ]),
    param: "messages[0].content",
    code: "array_above_max_length",
  },
  {
    limit: `${maxImages} images in a request`,
    within: () =>
      chatWith([
        { role: "user", content: Array.from({ length: maxImages - 1 }, () => imagePart) },
        { role: "user", content: [imagePart] },
      ]),
    beyond: () =>
      chatWith([
        { role: "user", content: Array.from({ length: maxImages - 1 }, () => imagePart) },
        { role: "user", content: [textPart, imagePart, imagePart] },
      ]),
    param: "messages[1].content[2]",
    code: "too_many_images",
  },
  {
    limit: `${maxJsonDepth} levels of nesting in the body (an unknown field)`,
    within: () => bodyOfDepth(maxJsonDepth),
    beyond: () => bodyOfDepth(maxJsonDepth + 1),
    param: "deep[0][0][0][0][0][0][0]",
    code: "nested_too_deeply",
  },
  {
    limit: `${maxJsonDepth} levels of nesting in the body (tool parameters)`,
    within: () => toolParametersOfDepth(maxJsonDepth),
    beyond: () => toolParametersOfDepth(maxJsonDepth + 1),
    param: "tools[0].function.parameters.a.a.a.a",
    code: "nested_too_deeply",
  },
  {
    limit: `${maxJsonDepth} levels of nesting in tool call arguments`,
    within: () => toolArgumentsOfDepth(maxJsonDepth),
    beyond: () => toolArgumentsOfDepth(maxJsonDepth + 1),
    param: "messages[1].tool_calls[0].function.arguments",
    code: "nested_too_deeply",
  },
  {
    limit: `${maxTextLength} characters of message content`,
    within: () => chatWith([{ role: "user", content: text(maxTextLength) }]),
    beyond: () => chatWith([{ role: "user", content: text(maxTextLength + 1) }]),
    param: "messages[0].content",
    code: "string_above_max_length",
  },
  {
    limit: `${maxTextLength} characters of a text part`,
    within: () => userParts([{ type: "text", text: text(maxTextLength) }]),
    beyond: () => userParts([{ type: "text", text: text(maxTextLength + 1) }]),
    param: "messages[0].content[0].text",
    code: "string_above_max_length",
  },
  {
    limit: `${maxTextLength} characters of tool call arguments`,
    within: () => toolCallWithArguments(`{"a":"${text(maxTextLength - 8)}"}`),
    beyond: () => toolCallWithArguments(`{"a":"${text(maxTextLength - 7)}"}`),
    param: "messages[1].tool_calls[0].function.arguments",
    code: "string_above_max_length",
  },
  {
    limit: `${maxTextLength} characters of a tool description`,
    within: () =>
      chatBody({
        tools: [{ type: "function", function: { name: "f", description: text(maxTextLength) } }],
      }),
    beyond: () =>
      chatBody({
        tools: [
          { type: "function", function: { name: "f", description: text(maxTextLength + 1) } },
        ],
      }),
    param: "tools[0].function.description",
    code: "string_above_max_length",
  },
  {
    limit: `${maxImageUrlLength} characters of an image URL`,
    within: () => userParts([{ type: "image_url", image_url: { url: pngDataUrl } }]),
    beyond: () =>
      userParts([
        {
          type: "image_url",
          image_url: { url: `data:image/png;base64,${"A".repeat(maxImageUrlLength)}` },
        },
      ]),
    param: "messages[0].content[0].image_url.url",
    code: "string_above_max_length",
  },
  {
    limit: `${maxModelLength} characters of model`,
    within: () => chatBody({ model: text(maxModelLength) }),
    beyond: () => chatBody({ model: text(maxModelLength + 1) }),
    param: "model",
    code: "string_above_max_length",
  },
  {
    limit: `${maxEmbeddingInputs} embedding inputs`,
    within: () => ({ model: "m", input: Array.from({ length: maxEmbeddingInputs }, () => "x") }),
    beyond: () => ({
      model: "m",
      input: Array.from({ length: maxEmbeddingInputs + 1 }, () => "x"),
    }),
    param: "input",
    code: "array_above_max_length",
    embeddings: true,
  },
  {
    limit: `${maxEmbeddingInputLength} characters of an embedding input`,
    within: () => ({ model: "m", input: ["a", text(maxEmbeddingInputLength)] }),
    beyond: () => ({ model: "m", input: ["a", text(maxEmbeddingInputLength + 1)] }),
    param: "input[1]",
    code: "string_above_max_length",
    embeddings: true,
  },
  {
    limit: `${maxEmbeddingInputs} token arrays`,
    within: () => ({ model: "m", input: Array.from({ length: maxEmbeddingInputs }, () => [0]) }),
    beyond: () => ({
      model: "m",
      input: Array.from({ length: maxEmbeddingInputs + 1 }, () => [0]),
    }),
    param: "input",
    code: "array_above_max_length",
    embeddings: true,
  },
  {
    // Token 0 is "!": one character per id.
    limit: `${maxEmbeddingInputTokens} ids of a token array`,
    within: () => ({ model: "m", input: [[0], Array(maxEmbeddingInputTokens).fill(0)] }),
    beyond: () => ({ model: "m", input: [[0], Array(maxEmbeddingInputTokens + 1).fill(0)] }),
    param: "input[1]",
    code: "array_above_max_length",
    embeddings: true,
  },
  {
    limit: `${maxEmbeddingInputTokens} ids of a single flat token array`,
    within: () => ({ model: "m", input: Array(maxEmbeddingInputTokens).fill(0) }),
    beyond: () => ({ model: "m", input: Array(maxEmbeddingInputTokens + 1).fill(0) }),
    param: "input",
    code: "array_above_max_length",
    embeddings: true,
  },
  {
    // Token 15339 is "hello": five characters per id.
    limit: `${maxEmbeddingInputLength} characters decoded from a token array`,
    within: () => ({ model: "m", input: [Array(maxEmbeddingInputLength / 5).fill(15339)] }),
    beyond: () => ({ model: "m", input: [[...Array(maxEmbeddingInputLength / 5).fill(15339), 0]] }),
    param: "input[0]",
    code: "string_above_max_length",
    embeddings: true,
  },
  {
    limit: `${maxJsonDepth} levels of nesting in an embeddings body`,
    within: () => ({ model: "m", input: "x", deep: nestedArrays(maxJsonDepth - 1) }),
    beyond: () => ({ model: "m", input: "x", deep: nestedArrays(maxJsonDepth) }),
    param: "deep[0][0][0][0][0][0][0]",
    code: "nested_too_deeply",
    embeddings: true,
  },
  {
    limit: `${maxModelLength} characters of an embedding model`,
    within: () => ({ model: text(maxModelLength), input: "x" }),
    beyond: () => ({ model: text(maxModelLength + 1), input: "x" }),
    param: "model",
    code: "string_above_max_length",
    embeddings: true,
  },
];

describe("request limits", () => {
  it.each(limits)("accept $limit", ({ within, embeddings }) => {
    const parse = embeddings ? parseEmbeddingRequest : parseChatCompletionRequest;
    expect(() => parse(within())).not.toThrow();
  });

  it.each(limits)("refuse more than $limit with a 400 naming the field", (limit) => {
    const parse = limit.embeddings ? parseEmbeddingRequest : parseChatCompletionRequest;
    const error = refusal(() => parse(limit.beyond()));
    expect({
      reason: error.reason,
      status: error.httpStatus,
      param: error.param,
      code: error.code,
    }).toEqual({
      reason: "invalid_request",
      status: 400,
      param: limit.param,
      code: limit.code,
    });
    expect(error.message.length).toBeLessThan(500);
  });
});

describe("regressions found by fuzzing", () => {
  it("refuses a 10,000-deep unknown field in a message (was a 500: the gateway's token estimate overflowed JSON.stringify)", () => {
    const body = JSON.parse(
      `{"model":"m","messages":[{"role":"user","content":"hi","x":${"[".repeat(10_000)}${"]".repeat(10_000)}}]}`,
    );
    expect(refusal(() => parseChatCompletionRequest(body))).toMatchObject({
      param: "messages[0].x[0][0][0][0][0]",
      code: "nested_too_deeply",
    });
  });

  it("refuses tool parameters 3,000 levels deep (was a 500: the AWS SDK's serialiser overflowed in inference)", () => {
    const body = chatBody({ tools: [functionTool("f", nestedObjects(3_000))] });
    expect(refusal(() => parseChatCompletionRequest(body))).toMatchObject({
      param: "tools[0].function.parameters.a.a.a.a",
      code: "nested_too_deeply",
    });
  });

  it("refuses a json_schema 3,000 levels deep (was a 500 in inference)", () => {
    const body = chatBody({
      response_format: {
        type: "json_schema",
        json_schema: { name: "s", schema: nestedObjects(3_000) },
      },
    });
    expect(refusal(() => parseChatCompletionRequest(body))).toMatchObject({
      param: "response_format.json_schema.schema.a.a.a.a.a",
      code: "nested_too_deeply",
    });
  });

  it("refuses tool call arguments 3,000 levels deep (was a 500 in inference)", () => {
    const body = toolCallWithArguments(nestedObjectsText(3_000));
    expect(refusal(() => parseChatCompletionRequest(body))).toMatchObject({
      param: "messages[1].tool_calls[0].function.arguments",
      code: "nested_too_deeply",
    });
  });

  it("refuses a data URL whose bytes are not an image (was Bedrock's 400 without a param)", () => {
    const url = `data:image/png;base64,${Buffer.from("hello world").toString("base64")}`;
    const request = parseChatCompletionRequest(
      userParts([{ type: "image_url", image_url: { url } }]),
    );
    expect(refusal(() => chatCompletionRequestToChatRequest(request))).toMatchObject({
      reason: "invalid_request",
      param: "messages[0].content[0].image_url.url",
      code: "invalid_image_format",
    });
  });

  it("refuses a 1 MB model name without echoing it (was echoed whole in the 404)", () => {
    const error = refusal(() => parseChatCompletionRequest(chatBody({ model: text(1_000_000) })));
    expect(error).toMatchObject({ param: "model", code: "string_above_max_length" });
    expect(error.message.length).toBeLessThan(300);
  });
});

describe("pathTooDeep", () => {
  it.each([
    ["a scalar", 1, 0, undefined],
    ["an empty object at the limit", {}, 1, undefined],
    ["an empty object beyond the limit", {}, 0, []],
    ["arrays at the limit", nestedArrays(5), 5, undefined],
    ["arrays beyond the limit", nestedArrays(6), 5, [0, 0, 0, 0, 0]],
    ["the first too-deep value in document order", { a: [1], b: [[]], c: [[[]]] }, 2, ["b", 0]],
    ["1,000,000 levels, without recursion", nestedArrays(1_000_000), 3, [0, 0, 0]],
  ])("finds %s", (_, value, max, expected) => {
    expect(pathTooDeep(value, max)).toEqual(expected);
  });
});
