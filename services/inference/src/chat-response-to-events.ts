import { create } from "@bufbuild/protobuf";
import {
  type ChatResponse,
  type ChatStreamResponse,
  ChatStreamResponseSchema,
} from "@strata/proto";

type Init = Parameters<typeof create<typeof ChatStreamResponseSchema>>[1];
const event = (init: NonNullable<Init>["event"]) =>
  create(ChatStreamResponseSchema, { event: init });

/**
 * A whole answer as the events of a stream, for models the catalog marks as not streaming: the
 * client still gets a stream of the same shape, in one burst. Pure.
 */
export function chatResponseToEvents(response: ChatResponse): ChatStreamResponse[] {
  const out = [event({ case: "start", value: { model: response.model } })];
  for (const [index, block] of response.content.entries()) {
    const b = block.block;
    switch (b.case) {
      case "text":
        out.push(
          event({ case: "blockDelta", value: { index, delta: { case: "text", value: b.value } } }),
        );
        break;
      case "toolUse":
        out.push(
          event({
            case: "blockStart",
            value: { index, toolUse: { id: b.value.id, name: b.value.name, inputJson: "" } },
          }),
          event({
            case: "blockDelta",
            value: { index, delta: { case: "toolInputJson", value: b.value.inputJson } },
          }),
        );
        break;
      case "reasoning":
        out.push(
          event({
            case: "blockDelta",
            value: { index, delta: { case: "reasoningText", value: b.value.text } },
          }),
        );
        break;
      case "image":
      case "toolResult":
      case undefined:
        continue;
      default: {
        const never: never = b;
        void never;
        continue;
      }
    }
    out.push(event({ case: "blockStop", value: { index } }));
  }
  out.push(
    event({ case: "stop", value: { stopReason: response.stopReason } }),
    event({
      case: "metadata",
      value: { usage: response.usage, upstreamLatencyMs: response.upstreamLatencyMs },
    }),
  );
  return out;
}
