/**
 * Turns a generated reply into the ConverseStream event sequence Bedrock produces
 * (docs/wire-formats.md#conversestream-events): `messageStart` → per block [`contentBlockStart` for
 * tool use] `contentBlockDelta`* `contentBlockStop` → `messageStop` → `metadata`. Text streams one
 * word per delta (with its leading space); tool input streams as 2–3 partial-JSON fragments. Pure:
 * the HTTP layer encodes and paces the events.
 */
import type { ConverseReply, JsonValue } from "./converse-types.ts";
import { wordsOf } from "./generate.ts";

/** `:event-type` values of the `ConverseStreamOutput` union. */
export type ConverseStreamEventType =
  | "messageStart"
  | "contentBlockStart"
  | "contentBlockDelta"
  | "contentBlockStop"
  | "messageStop"
  | "metadata";

/** One event: its union member name and its JSON payload. */
export interface ConverseStreamEvent {
  readonly type: ConverseStreamEventType;
  readonly payload: JsonValue;
}

/** Splits a tool-input JSON string into 3 fragments (2 when it is shorter than 3 characters). */
export function splitToolInput(json: string): string[] {
  if (json.length < 2) return [json];
  if (json.length < 3) return [json.slice(0, 1), json.slice(1)];
  const a = Math.floor(json.length / 3);
  const b = Math.floor((2 * json.length) / 3);
  return [json.slice(0, a), json.slice(a, b), json.slice(b)];
}

/**
 * The events for `reply`. `latencyMs` is read when the final `metadata` event is produced, so it
 * measures the whole stream.
 */
export function* converseStreamEvents(
  reply: ConverseReply,
  latencyMs: () => number,
): Generator<ConverseStreamEvent> {
  yield { type: "messageStart", payload: { role: "assistant" } };
  for (const [contentBlockIndex, block] of reply.content.entries()) {
    switch (block.type) {
      case "text": {
        const words = wordsOf(block.text);
        for (const [i, word] of words.entries()) {
          const text = i === 0 ? word : ` ${word}`;
          yield { type: "contentBlockDelta", payload: { contentBlockIndex, delta: { text } } };
        }
        break;
      }
      case "toolUse": {
        yield {
          type: "contentBlockStart",
          payload: {
            contentBlockIndex,
            start: { toolUse: { toolUseId: block.toolUseId, name: block.name } },
          },
        };
        for (const input of splitToolInput(JSON.stringify(block.input))) {
          yield {
            type: "contentBlockDelta",
            payload: { contentBlockIndex, delta: { toolUse: { input } } },
          };
        }
        break;
      }
      default: {
        const exhaustive: never = block;
        throw new Error(`unhandled reply block ${JSON.stringify(exhaustive)}`);
      }
    }
    yield { type: "contentBlockStop", payload: { contentBlockIndex } };
  }
  yield { type: "messageStop", payload: { stopReason: reply.stopReason } };
  yield {
    type: "metadata",
    payload: { usage: { ...reply.usage }, metrics: { latencyMs: latencyMs() } },
  };
}
