import type {
  StopReason as BedrockStopReason,
  ConverseCommandOutput,
} from "@aws-sdk/client-bedrock-runtime";
import { StopReason } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { type AnswerShaping, noShaping } from "./answer-shaping.ts";
import { converseToChatResponse } from "./converse-to-chat-response.ts";
import { bedrockStopReasonToStopReason } from "./stop-reason.ts";

const output = (
  content: NonNullable<NonNullable<ConverseCommandOutput["output"]>["message"]>["content"],
  stopReason: BedrockStopReason = "end_turn",
): ConverseCommandOutput => ({
  $metadata: {},
  output: { message: { role: "assistant", content } },
  stopReason,
  usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
  metrics: { latencyMs: 42 },
});

const weather = (id: string, city: string) => ({
  toolUse: { toolUseId: id, name: "get_weather", input: { city } },
});

const translate = (out: ConverseCommandOutput, shaping: Partial<AnswerShaping> = {}) =>
  converseToChatResponse(out, { model: "claude-3-haiku", shaping: { ...noShaping, ...shaping } });

const blocks = (out: ConverseCommandOutput, shaping: Partial<AnswerShaping> = {}) =>
  translate(out, shaping).content.map((b) => b.block);

describe("bedrockStopReasonToStopReason", () => {
  it.each(
    (
      [
        ["end_turn", StopReason.END_TURN],
        ["stop_sequence", StopReason.STOP_SEQUENCE],
        ["max_tokens", StopReason.MAX_TOKENS],
        ["tool_use", StopReason.TOOL_USE],
        ["content_filtered", StopReason.CONTENT_FILTERED],
        ["guardrail_intervened", StopReason.GUARDRAIL_INTERVENED],
        ["model_context_window_exceeded", StopReason.CONTEXT_WINDOW_EXCEEDED],
        ["malformed_model_output", StopReason.MALFORMED_OUTPUT],
        ["malformed_tool_use", StopReason.MALFORMED_OUTPUT],
        ["a_reason_from_the_future", StopReason.END_TURN],
        [undefined, StopReason.END_TURN],
      ] as const
    ).map(([reason, expected]) => ({
      reason,
      expected,
      label: `STOP_REASON_${StopReason[expected]}`,
    })),
  )("maps $reason to $label", ({ reason, expected }) => {
    expect(bedrockStopReasonToStopReason(reason as BedrockStopReason)).toBe(expected);
  });
});

describe("converseToChatResponse", () => {
  it("translates text, tool use (input as JSON) and reasoning with its signature", () => {
    const response = translate(
      output(
        [
          { reasoningContent: { reasoningText: { text: "thinking", signature: "sig" } } },
          { text: "Let me check." },
          weather("t1", "Paris"),
        ],
        "tool_use",
      ),
    );
    expect(response.model).toBe("claude-3-haiku");
    expect(response.content.map((b) => b.block)).toMatchObject([
      { case: "reasoning", value: { text: "thinking", signature: "sig" } },
      { case: "text", value: "Let me check." },
      { case: "toolUse", value: { id: "t1", name: "get_weather", inputJson: '{"city":"Paris"}' } },
    ]);
    expect(response.stopReason).toBe(StopReason.TOOL_USE);
  });

  it("maps max_tokens to STOP_REASON_MAX_TOKENS", () => {
    expect(translate(output([{ text: "cut" }], "max_tokens")).stopReason).toBe(
      StopReason.MAX_TOKENS,
    );
  });

  it("reports usage with cache counts and Bedrock's latency", () => {
    const out = output([{ text: "hi" }]);
    out.usage = {
      inputTokens: 10,
      outputTokens: 5,
      totalTokens: 15,
      cacheReadInputTokens: 7,
      cacheWriteInputTokens: 3,
    };
    const response = translate(out);
    expect(response.usage).toMatchObject({
      inputTokens: 10,
      outputTokens: 5,
      cacheReadInputTokens: 7,
      cacheWriteInputTokens: 3,
    });
    expect(response.upstreamLatencyMs).toBe(42);
  });

  it("drops tool calls when tool_choice is none and ends the turn", () => {
    const out = output([{ text: "Sure." }, weather("t1", "Paris")], "tool_use");
    expect(blocks(out, { dropToolUse: true })).toEqual([{ case: "text", value: "Sure." }]);
    expect(translate(out, { dropToolUse: true }).stopReason).toBe(StopReason.END_TURN);
  });

  it("keeps only the first tool call when parallel tool use is disabled", () => {
    const out = output([weather("t1", "Paris"), weather("t2", "Rome")], "tool_use");
    const response = translate(out, { firstToolUseOnly: true });
    expect(response.content.map((b) => b.block.value)).toMatchObject([{ id: "t1" }]);
    expect(response.stopReason).toBe(StopReason.TOOL_USE);
  });

  it("turns the json_response tool call into a text block and ends the turn", () => {
    const out = output(
      [
        { text: "Here you go:" },
        { toolUse: { toolUseId: "j", name: "json_response", input: { answer: "42" } } },
      ],
      "tool_use",
    );
    const response = translate(out, { jsonResponseTool: "json_response" });
    expect(response.content.map((b) => b.block)).toEqual([
      { case: "text", value: '{"answer":"42"}' },
    ]);
    expect(response.stopReason).toBe(StopReason.END_TURN);
  });

  it("keeps a client tool call made instead of the JSON answer", () => {
    const out = output([weather("t1", "Paris")], "tool_use");
    const response = translate(out, { jsonResponseTool: "json_response" });
    expect(response.content.map((b) => b.block.case)).toEqual(["toolUse"]);
    expect(response.stopReason).toBe(StopReason.TOOL_USE);
  });

  it("leaves out block types Strata does not model", () => {
    const out = output([
      { text: "a" },
      { reasoningContent: { redactedContent: new Uint8Array([1]) } },
    ]);
    expect(blocks(out)).toEqual([{ case: "text", value: "a" }]);
  });
});
