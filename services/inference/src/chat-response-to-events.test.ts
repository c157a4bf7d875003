import { create } from "@bufbuild/protobuf";
import { ChatResponseSchema, StopReason } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { chatResponseToEvents } from "./chat-response-to-events.ts";

describe("chatResponseToEvents", () => {
  it("replays a whole answer as a stream of the same shape", () => {
    const response = create(ChatResponseSchema, {
      model: "m",
      content: [
        { block: { case: "text", value: "Checking." } },
        { block: { case: "toolUse", value: { id: "t1", name: "f", inputJson: '{"a":1}' } } },
      ],
      stopReason: StopReason.TOOL_USE,
      usage: { inputTokens: 3, outputTokens: 4 },
      upstreamLatencyMs: 9,
    });
    const events = chatResponseToEvents(response).map((e) => e.event);
    expect(events.map((e) => e.case)).toEqual([
      "start",
      "blockDelta",
      "blockStop",
      "blockStart",
      "blockDelta",
      "blockStop",
      "stop",
      "metadata",
    ]);
    expect(events[3]?.value).toMatchObject({ index: 1, toolUse: { id: "t1", name: "f" } });
    expect(events[4]?.value).toMatchObject({
      index: 1,
      delta: { case: "toolInputJson", value: '{"a":1}' },
    });
    expect(events[6]?.value).toMatchObject({ stopReason: StopReason.TOOL_USE });
    expect(events[7]?.value).toMatchObject({ usage: { outputTokens: 4 }, upstreamLatencyMs: 9 });
  });
});
