import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type ChatStreamResponse, ChatStreamResponseSchema, StopReason } from "@strata/proto";

// Test support: builders of neutral stream events, in the order the inference service sends them.

type Event = MessageInitShape<typeof ChatStreamResponseSchema>["event"];
const event = (e: Event): ChatStreamResponse => create(ChatStreamResponseSchema, { event: e });

/** Builders of the neutral stream events. */
export const streamEvent = {
  start: (model = "test-model") => event({ case: "start", value: { model } }),
  toolStart: (index: number, id: string, name: string) =>
    event({ case: "blockStart", value: { index, toolUse: { id, name } } }),
  text: (index: number, value: string) =>
    event({ case: "blockDelta", value: { index, delta: { case: "text", value } } }),
  reasoning: (index: number, value: string) =>
    event({ case: "blockDelta", value: { index, delta: { case: "reasoningText", value } } }),
  toolInput: (index: number, value: string) =>
    event({ case: "blockDelta", value: { index, delta: { case: "toolInputJson", value } } }),
  blockStop: (index: number) => event({ case: "blockStop", value: { index } }),
  stop: (stopReason = StopReason.END_TURN) => event({ case: "stop", value: { stopReason } }),
  metadata: (inputTokens = 12, outputTokens = 34, cacheReadInputTokens = 0) =>
    event({
      case: "metadata",
      value: { usage: { inputTokens, outputTokens, cacheReadInputTokens }, upstreamLatencyMs: 5 },
    }),
};

/**
 * A typical tool-calling answer: some text, then two parallel tool calls whose arguments arrive in
 * fragments, then the stop and the usage.
 */
export function textAndTwoToolCalls(): ChatStreamResponse[] {
  const e = streamEvent;
  return [
    e.start(),
    e.text(0, "Let me "),
    e.text(0, "check."),
    e.blockStop(0),
    e.toolStart(1, "tooluse_a", "get_weather"),
    e.toolInput(1, '{"city":'),
    e.toolInput(1, '"Paris"}'),
    e.blockStop(1),
    e.toolStart(2, "tooluse_b", "get_time"),
    e.toolInput(2, '{"tz":"CET"}'),
    e.blockStop(2),
    e.stop(StopReason.TOOL_USE),
    e.metadata(12, 34, 2),
  ];
}
