import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { converseStreamEvents, splitToolInput } from "./converse-stream-events.ts";
import type { ConverseReply } from "./converse-types.ts";

const reply: ConverseReply = {
  content: [
    { type: "text", text: "Calling tools." },
    { type: "toolUse", toolUseId: "tooluse_1", name: "get_weather", input: { city: "Paris" } },
  ],
  stopReason: "tool_use",
  usage: { inputTokens: 5, outputTokens: 7, totalTokens: 12 },
};

describe("converseStreamEvents", () => {
  it("produces Bedrock's event order", () => {
    const types = [...converseStreamEvents(reply, () => 3)].map((e) => e.type);
    expect(types).toEqual([
      "messageStart",
      "contentBlockDelta",
      "contentBlockDelta",
      "contentBlockStop",
      "contentBlockStart",
      "contentBlockDelta",
      "contentBlockDelta",
      "contentBlockDelta",
      "contentBlockStop",
      "messageStop",
      "metadata",
    ]);
  });

  it("streams text one word per delta with its leading space", () => {
    const deltas = [...converseStreamEvents(reply, () => 0)]
      .filter((e) => e.type === "contentBlockDelta")
      .slice(0, 2)
      .map((e) => e.payload);
    expect(deltas).toEqual([
      { contentBlockIndex: 0, delta: { text: "Calling" } },
      { contentBlockIndex: 0, delta: { text: " tools." } },
    ]);
  });

  it("starts tool blocks with id and name and streams the input as partial JSON", () => {
    const events = [...converseStreamEvents(reply, () => 0)];
    expect(events[4]?.payload).toEqual({
      contentBlockIndex: 1,
      start: { toolUse: { toolUseId: "tooluse_1", name: "get_weather" } },
    });
    const input = events
      .slice(5, 8)
      .map((e) => (e.payload as { delta: { toolUse: { input: string } } }).delta.toolUse.input)
      .join("");
    expect(JSON.parse(input)).toEqual({ city: "Paris" });
  });

  it("ends with the stop reason and usage with latency", () => {
    const events = [...converseStreamEvents(reply, () => 42)];
    expect(events.at(-2)?.payload).toEqual({ stopReason: "tool_use" });
    expect(events.at(-1)?.payload).toEqual({
      usage: { inputTokens: 5, outputTokens: 7, totalTokens: 12 },
      metrics: { latencyMs: 42 },
    });
  });

  it("reassembles any text exactly from its deltas", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^\S+$/), { minLength: 1, maxLength: 20 }),
        (words) => {
          const text = words.join(" ");
          const events = converseStreamEvents(
            { content: [{ type: "text", text }], stopReason: "end_turn", usage: reply.usage },
            () => 0,
          );
          const joined = [...events]
            .filter((e) => e.type === "contentBlockDelta")
            .map((e) => (e.payload as { delta: { text: string } }).delta.text)
            .join("");
          expect(joined).toBe(text);
        },
      ),
    );
  });
});

describe("splitToolInput", () => {
  it.each([
    ["{}", ["{", "}"]],
    ['{"a":1}', ['{"', 'a"', ":1}"]],
  ])("splits %s into 2-3 fragments", (json, fragments) => {
    expect(splitToolInput(json)).toEqual(fragments);
  });

  it("always yields 2-3 fragments that join back", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const json = JSON.stringify({ value });
        const parts = splitToolInput(json);
        expect(parts.length).toBeGreaterThanOrEqual(2);
        expect(parts.length).toBeLessThanOrEqual(3);
        expect(parts.join("")).toBe(json);
      }),
    );
  });
});
