import { StrataError } from "@strata/errors";
import { StopReason } from "@strata/proto";
import { describe, expect, it } from "vitest";
import type { ChatCompletionChunk } from "./chat-completion.ts";
import { createChunkTranslator } from "./chunk-translator.ts";
import { openApiErrors } from "./testing/openapi.ts";
import { streamEvent as e, textAndTwoToolCalls } from "./testing/stream-events.ts";

const context = { id: "chatcmpl-1", created: 1_700_000_000, model: "test-model" };

function translateAll(events: ReturnType<typeof textAndTwoToolCalls>, includeUsage: boolean) {
  const translator = createChunkTranslator({ ...context, includeUsage });
  return events.flatMap((event) => translator.next(event));
}

/** The choice deltas and finish reasons, without the envelope. */
function deltas(chunks: ChatCompletionChunk[]) {
  return chunks.flatMap((c) => c.choices.map((choice) => [choice.delta, choice.finish_reason]));
}

describe("createChunkTranslator", () => {
  it("streams text: role first, then the text, then the finish reason", () => {
    const chunks = translateAll(
      [e.start(), e.text(0, "Hel"), e.text(0, "lo"), e.blockStop(0), e.stop(), e.metadata()],
      false,
    );
    expect(deltas(chunks)).toEqual([
      [{ role: "assistant", content: "" }, null],
      [{ content: "Hel" }, null],
      [{ content: "lo" }, null],
      [{}, "stop"],
    ]);
  });

  it("numbers tool calls 0, 1, ... in the answer, not by content block", () => {
    expect(deltas(translateAll(textAndTwoToolCalls(), false))).toEqual([
      [{ role: "assistant", content: "" }, null],
      [{ content: "Let me " }, null],
      [{ content: "check." }, null],
      [
        {
          tool_calls: [
            {
              index: 0,
              id: "tooluse_a",
              type: "function",
              function: { name: "get_weather", arguments: "" },
            },
          ],
        },
        null,
      ],
      [{ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }, null],
      [{ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }, null],
      [
        {
          tool_calls: [
            {
              index: 1,
              id: "tooluse_b",
              type: "function",
              function: { name: "get_time", arguments: "" },
            },
          ],
        },
        null,
      ],
      [{ tool_calls: [{ index: 1, function: { arguments: '{"tz":"CET"}' } }] }, null],
      [{}, "tool_calls"],
    ]);
  });

  it("streams reasoning as reasoning_content", () => {
    const chunks = translateAll(
      [e.start(), e.reasoning(0, "Hmm."), e.blockStop(0), e.text(1, "Yes"), e.stop()],
      false,
    );
    expect(deltas(chunks).slice(1, 3)).toEqual([
      [{ reasoning_content: "Hmm." }, null],
      [{ content: "Yes" }, null],
    ]);
  });

  it("adds the usage chunk, with no choices, and usage null elsewhere when asked to", () => {
    const chunks = translateAll(textAndTwoToolCalls(), true);
    const last = chunks.at(-1);
    expect(last).toEqual({
      ...context,
      object: "chat.completion.chunk",
      choices: [],
      usage: {
        prompt_tokens: 14,
        completion_tokens: 34,
        total_tokens: 48,
        prompt_tokens_details: { cached_tokens: 2 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
  });

  it("sends no usage at all unless asked to", () => {
    const chunks = translateAll(textAndTwoToolCalls(), false);
    expect(chunks.every((c) => !("usage" in c))).toBe(true);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("puts the same id, created and model on every chunk", () => {
    for (const chunk of translateAll(textAndTwoToolCalls(), true)) {
      expect(chunk).toMatchObject({ ...context, object: "chat.completion.chunk" });
    }
  });

  it.each([true, false])(
    "produces chunks valid against OpenAI's spec (include_usage %s)",
    (includeUsage) => {
      for (const chunk of translateAll(textAndTwoToolCalls(), includeUsage)) {
        expect(openApiErrors("CreateChatCompletionStreamResponse", chunk)).toEqual([]);
      }
    },
  );

  it("still sends the role first when the stream starts without a start event", () => {
    expect(deltas(translateAll([e.stop(StopReason.MAX_TOKENS)], false))).toEqual([
      [{ role: "assistant", content: "" }, null],
      [{}, "length"],
    ]);
  });

  it("skips empty deltas and block boundaries", () => {
    const translator = createChunkTranslator({ ...context, includeUsage: false });
    translator.next(e.start());
    expect(
      [e.text(0, ""), e.blockStop(0), e.reasoning(1, "")].flatMap((x) => translator.next(x)),
    ).toEqual([]);
  });

  it("refuses tool input for a block that never started as a tool call", () => {
    const translator = createChunkTranslator({ ...context, includeUsage: false });
    translator.next(e.start());
    expect(() => translator.next(e.toolInput(3, "{}"))).toThrowError(StrataError);
  });
});
