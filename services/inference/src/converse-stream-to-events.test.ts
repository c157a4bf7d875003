import type { ConverseStreamOutput } from "@aws-sdk/client-bedrock-runtime";
import { ThrottlingException } from "@aws-sdk/client-bedrock-runtime";
import { StrataError } from "@strata/errors";
import { type ChatStreamResponse, StopReason } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { type AnswerShaping, noShaping } from "./answer-shaping.ts";
import {
  converseStreamEventToEvents,
  createStreamTranslation,
} from "./converse-stream-to-events.ts";

/** Runs a whole Bedrock stream through the translator; events as `[case, value]` for reading. */
function run(events: ConverseStreamOutput[], shaping: Partial<AnswerShaping> = {}) {
  const state = createStreamTranslation({
    model: "nova-micro",
    shaping: { ...noShaping, ...shaping },
  });
  return events.flatMap((e) => converseStreamEventToEvents(e, state)).map(simplify);
}

function simplify(e: ChatStreamResponse): unknown[] {
  const { case: c, value } = e.event;
  switch (c) {
    case "start":
      return [c, value.model];
    case "blockStart":
      return [c, value.index, value.toolUse?.id, value.toolUse?.name];
    case "blockDelta":
      return [c, value.index, value.delta.case, value.delta.value];
    case "blockStop":
      return [c, value.index];
    case "stop":
      return [c, StopReason[value.stopReason]];
    case "metadata":
      return [c, value.usage?.inputTokens, value.usage?.outputTokens, value.upstreamLatencyMs];
    default:
      return ["?"];
  }
}

const messageStart: ConverseStreamOutput = { messageStart: { role: "assistant" } };
const text = (i: number, t: string): ConverseStreamOutput => ({
  contentBlockDelta: { contentBlockIndex: i, delta: { text: t } },
});
const toolStart = (i: number, id: string, name: string): ConverseStreamOutput => ({
  contentBlockStart: { contentBlockIndex: i, start: { toolUse: { toolUseId: id, name } } },
});
const toolInput = (i: number, input: string): ConverseStreamOutput => ({
  contentBlockDelta: { contentBlockIndex: i, delta: { toolUse: { input } } },
});
const blockStop = (i: number): ConverseStreamOutput => ({
  contentBlockStop: { contentBlockIndex: i },
});
const messageStop = (stopReason: "end_turn" | "tool_use" | "max_tokens"): ConverseStreamOutput => ({
  messageStop: { stopReason },
});
const metadata: ConverseStreamOutput = {
  metadata: {
    usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 },
    metrics: { latencyMs: 12 },
  },
};

const toolAnswer = [
  messageStart,
  text(0, "Checking."),
  blockStop(0),
  toolStart(1, "t1", "get_weather"),
  toolInput(1, '{"city":'),
  toolInput(1, '"Paris"}'),
  blockStop(1),
  toolStart(2, "t2", "get_weather"),
  toolInput(2, '{"city":"Rome"}'),
  blockStop(2),
  messageStop("tool_use"),
  metadata,
];

describe("converseStreamEventToEvents", () => {
  it("translates a text answer (no contentBlockStart) into start, deltas, stop and metadata", () => {
    expect(
      run([
        messageStart,
        text(0, "Hel"),
        text(0, "lo"),
        blockStop(0),
        messageStop("end_turn"),
        metadata,
      ]),
    ).toEqual([
      ["start", "nova-micro"],
      ["blockDelta", 0, "text", "Hel"],
      ["blockDelta", 0, "text", "lo"],
      ["blockStop", 0],
      ["stop", "END_TURN"],
      ["metadata", 3, 4, 12],
    ]);
  });

  it("announces tool blocks with id and name, streams argument fragments, keeps Bedrock indexes", () => {
    expect(run(toolAnswer)).toEqual([
      ["start", "nova-micro"],
      ["blockDelta", 0, "text", "Checking."],
      ["blockStop", 0],
      ["blockStart", 1, "t1", "get_weather"],
      ["blockDelta", 1, "toolInputJson", '{"city":'],
      ["blockDelta", 1, "toolInputJson", '"Paris"}'],
      ["blockStop", 1],
      ["blockStart", 2, "t2", "get_weather"],
      ["blockDelta", 2, "toolInputJson", '{"city":"Rome"}'],
      ["blockStop", 2],
      ["stop", "TOOL_USE"],
      ["metadata", 3, 4, 12],
    ]);
  });

  it("drops tool calls when tool_choice is none and ends the turn", () => {
    expect(run(toolAnswer, { dropToolUse: true })).toEqual([
      ["start", "nova-micro"],
      ["blockDelta", 0, "text", "Checking."],
      ["blockStop", 0],
      ["stop", "END_TURN"],
      ["metadata", 3, 4, 12],
    ]);
  });

  it("keeps only the first tool call when parallel tool use is disabled", () => {
    const events = run(toolAnswer, { firstToolUseOnly: true });
    expect(events.filter((e) => e[0] === "blockStart")).toEqual([
      ["blockStart", 1, "t1", "get_weather"],
    ]);
    expect(events.some((e) => e[1] === 2)).toBe(false);
    expect(events.at(-2)).toEqual(["stop", "TOOL_USE"]);
  });

  it("streams the json_response tool's input as text deltas and ends the turn", () => {
    expect(
      run(
        [
          messageStart,
          toolStart(0, "j", "json_response"),
          toolInput(0, '{"answer":'),
          toolInput(0, '"42"}'),
          blockStop(0),
          messageStop("tool_use"),
          metadata,
        ],
        { jsonResponseTool: "json_response" },
      ),
    ).toEqual([
      ["start", "nova-micro"],
      ["blockDelta", 0, "text", '{"answer":'],
      ["blockDelta", 0, "text", '"42"}'],
      ["blockStop", 0],
      ["stop", "END_TURN"],
      ["metadata", 3, 4, 12],
    ]);
  });

  it("drops text around the JSON answer in json_response mode", () => {
    const events = run(
      [
        messageStart,
        text(0, "Sure:"),
        blockStop(0),
        toolStart(1, "j", "json_response"),
        toolInput(1, "{}"),
        blockStop(1),
        messageStop("tool_use"),
      ],
      { jsonResponseTool: "json_response" },
    );
    expect(events).toEqual([
      ["start", "nova-micro"],
      ["blockDelta", 1, "text", "{}"],
      ["blockStop", 1],
      ["stop", "END_TURN"],
    ]);
  });

  it("streams reasoning text and ignores signatures", () => {
    expect(
      run([
        messageStart,
        {
          contentBlockDelta: { contentBlockIndex: 0, delta: { reasoningContent: { text: "hmm" } } },
        },
        {
          contentBlockDelta: {
            contentBlockIndex: 0,
            delta: { reasoningContent: { signature: "sig" } },
          },
        },
        blockStop(0),
      ]),
    ).toEqual([
      ["start", "nova-micro"],
      ["blockDelta", 0, "reasoningText", "hmm"],
      ["blockStop", 0],
    ]);
  });

  it("emits the start event even when messageStart is missing", () => {
    expect(run([text(0, "hi")])).toEqual([
      ["start", "nova-micro"],
      ["blockDelta", 0, "text", "hi"],
    ]);
  });

  it("ignores unknown event members", () => {
    const unknown = { $unknown: ["futureEvent", {}] } as ConverseStreamOutput;
    expect(run([messageStart, unknown, text(0, "a")])).toEqual([
      ["start", "nova-micro"],
      ["blockDelta", 0, "text", "a"],
    ]);
  });

  it("raises the mapped StrataError for an exception event", () => {
    const state = createStreamTranslation({ model: "m", shaping: noShaping });
    const event = {
      throttlingException: new ThrottlingException({ message: "slow down", $metadata: {} }),
    } as ConverseStreamOutput;
    expect(() => converseStreamEventToEvents(event, state)).toThrow(StrataError);
    try {
      converseStreamEventToEvents(event, state);
    } catch (error) {
      expect((error as StrataError).reason).toBe("rate_limited");
    }
  });
});
