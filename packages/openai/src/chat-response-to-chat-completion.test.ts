import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ChatResponseSchema, StopReason, UsageSchema } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { chatResponseToChatCompletion } from "./chat-response-to-chat-completion.ts";
import { usageToCompletionUsage } from "./completion-usage.ts";
import { stopReasonToFinishReason } from "./stop-reason.ts";
import { openApiErrors } from "./testing/openapi.ts";

const context = { id: "chatcmpl-1", created: 1_700_000_000, model: "test-model" };
const usage = {
  inputTokens: 10,
  outputTokens: 5,
  cacheReadInputTokens: 0,
  cacheWriteInputTokens: 0,
};
type ResponseInit = MessageInitShape<typeof ChatResponseSchema>;
const text = (value: string) => ({ block: { case: "text" as const, value } });
const toolUse = (id: string, name: string, inputJson: string) => ({
  block: { case: "toolUse" as const, value: { id, name, inputJson } },
});
const reasoning = (value: string) => ({
  block: { case: "reasoning" as const, value: { text: value, signature: "sig" } },
});

describe("chatResponseToChatCompletion answers", () => {
  const cases: Array<{
    behaviour: string;
    response: ResponseInit;
    message: object;
    finish: string;
  }> = [
    {
      behaviour: "with the text blocks concatenated",
      response: {
        content: [text("Hello, "), text("world.")],
        stopReason: StopReason.END_TURN,
        usage,
      },
      message: { role: "assistant", content: "Hello, world.", refusal: null },
      finish: "stop",
    },
    {
      behaviour: "with tool calls and null content when the model only called tools",
      response: {
        content: [
          toolUse("tooluse_1", "get_weather", '{"city":"Paris"}'),
          toolUse("tooluse_2", "get_time", ""),
        ],
        stopReason: StopReason.TOOL_USE,
        usage,
      },
      message: {
        role: "assistant",
        content: null,
        refusal: null,
        tool_calls: [
          {
            id: "tooluse_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
          { id: "tooluse_2", type: "function", function: { name: "get_time", arguments: "{}" } },
        ],
      },
      finish: "tool_calls",
    },
    {
      behaviour: "with text and tool calls together",
      response: {
        content: [text("Checking."), toolUse("t1", "f", "{}")],
        stopReason: StopReason.TOOL_USE,
        usage,
      },
      message: {
        role: "assistant",
        content: "Checking.",
        refusal: null,
        tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: "{}" } }],
      },
      finish: "tool_calls",
    },
    {
      behaviour: "with the reasoning as reasoning_content",
      response: {
        content: [reasoning("Think "), reasoning("hard."), text("42")],
        stopReason: StopReason.END_TURN,
        usage,
      },
      message: {
        role: "assistant",
        content: "42",
        refusal: null,
        reasoning_content: "Think hard.",
      },
      finish: "stop",
    },
    {
      behaviour: "with null content when there is nothing",
      response: { content: [], stopReason: StopReason.MAX_TOKENS, usage },
      message: { role: "assistant", content: null, refusal: null },
      finish: "length",
    },
  ];

  it.each(cases)("$behaviour", ({ response, message, finish }) => {
    const completion = chatResponseToChatCompletion(create(ChatResponseSchema, response), context);
    expect(completion).toEqual({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "test-model",
      choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
      usage: usageToCompletionUsage(create(UsageSchema, usage)),
    });
    expect(openApiErrors("CreateChatCompletionResponse", completion)).toEqual([]);
  });

  it("reports zero usage when the upstream reported none", () => {
    const completion = chatResponseToChatCompletion(
      create(ChatResponseSchema, { content: [text("x")] }),
      context,
    );
    expect(completion.usage).toMatchObject({
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
    });
  });
});

describe("stopReasonToFinishReason", () => {
  it.each([
    [StopReason.END_TURN, "stop"],
    [StopReason.STOP_SEQUENCE, "stop"],
    [StopReason.MAX_TOKENS, "length"],
    [StopReason.CONTEXT_WINDOW_EXCEEDED, "length"],
    [StopReason.TOOL_USE, "tool_calls"],
    [StopReason.CONTENT_FILTERED, "content_filter"],
    [StopReason.GUARDRAIL_INTERVENED, "content_filter"],
    [StopReason.MALFORMED_OUTPUT, "stop"],
    [StopReason.UNSPECIFIED, "stop"],
    [99 as StopReason, "stop"],
  ])("maps %s to %s", (reason, finish) => {
    expect(stopReasonToFinishReason(reason)).toBe(finish);
  });

  it("covers every stop reason of the proto", () => {
    const reasons = Object.values(StopReason).filter((v): v is StopReason => typeof v === "number");
    for (const reason of reasons) expect(typeof stopReasonToFinishReason(reason)).toBe("string");
    expect(reasons.length).toBe(9);
  });
});

describe("usageToCompletionUsage", () => {
  it.each([
    {
      behaviour: "counts plain input and output",
      usage: { inputTokens: 10, outputTokens: 5 },
      expected: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, cached: 0 },
    },
    {
      behaviour:
        "adds cache reads and writes back into prompt_tokens, cache reads as cached_tokens",
      usage: {
        inputTokens: 10,
        outputTokens: 5,
        cacheReadInputTokens: 100,
        cacheWriteInputTokens: 20,
      },
      expected: { prompt_tokens: 130, completion_tokens: 5, total_tokens: 135, cached: 100 },
    },
  ])("$behaviour", ({ usage: counts, expected }) => {
    expect(usageToCompletionUsage(create(UsageSchema, counts))).toEqual({
      prompt_tokens: expected.prompt_tokens,
      completion_tokens: expected.completion_tokens,
      total_tokens: expected.total_tokens,
      prompt_tokens_details: { cached_tokens: expected.cached },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
  });

  it("reports zeros for a missing usage", () => {
    expect(usageToCompletionUsage(undefined)).toMatchObject({ prompt_tokens: 0, total_tokens: 0 });
  });
});
