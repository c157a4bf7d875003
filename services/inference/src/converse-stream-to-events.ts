import type { ConverseStreamOutput } from "@aws-sdk/client-bedrock-runtime";
import { create } from "@bufbuild/protobuf";
import { type ChatStreamResponse, ChatStreamResponseSchema } from "@strata/proto";
import {
  type AnswerShaping,
  dropsText,
  newToolUseTally,
  nextToolUseFate,
  type ToolUseTally,
} from "./answer-shaping.ts";
import { bedrockErrorToStrataError } from "./bedrock-error.ts";
import { bedrockStopReasonToStopReason, shapeStopReason } from "./stop-reason.ts";
import { bedrockUsageToUsage } from "./usage.ts";

/** How the events of one content block are forwarded. */
type BlockMode = "text" | "tool" | "json-text" | "reasoning" | "suppressed";

/** The small explicit state of one streamed answer's translation. */
export interface StreamTranslation {
  /** The catalog id announced in the start event. */
  readonly model: string;
  readonly shaping: AnswerShaping;
  started: boolean;
  /** Mode of each block seen so far, by Bedrock's contentBlockIndex. */
  readonly blocks: Map<number, BlockMode>;
  readonly tally: ToolUseTally;
}

/** A fresh translation state for one ConverseStream answer. */
export function createStreamTranslation(options: {
  model: string;
  shaping: AnswerShaping;
}): StreamTranslation {
  return {
    model: options.model,
    shaping: options.shaping,
    started: false,
    blocks: new Map(),
    tally: newToolUseTally(),
  };
}

type Init = Parameters<typeof create<typeof ChatStreamResponseSchema>>[1];
const event = (init: NonNullable<Init>["event"]) =>
  create(ChatStreamResponseSchema, { event: init });

type DeltaInit =
  | { case: "text"; value: string }
  | { case: "toolInputJson"; value: string }
  | { case: "reasoningText"; value: string };
const delta = (index: number, d: DeltaInit) =>
  event({ case: "blockDelta", value: { index, delta: d } });

/**
 * Translates one ConverseStream event into the neutral stream events it stands for (zero or
 * more), updating `state`. Bedrock block indexes are preserved (so a suppressed block leaves a
 * gap); a text block may start without contentBlockStart; a start event is emitted before the
 * first event even if messageStart is missing. Tool calls are dropped or turned into text as the
 * answer shaping says (their start, deltas and stop alike), and TOOL_USE becomes END_TURN when no
 * tool call is left. Exception members raise the mapped StrataError; unknown members are
 * ignored (Bedrock adds event types over time). Pure apart from `state`.
 */
export function converseStreamEventToEvents(
  ev: ConverseStreamOutput,
  state: StreamTranslation,
): ChatStreamResponse[] {
  const out: ChatStreamResponse[] = [];
  if (!state.started) {
    state.started = true;
    out.push(event({ case: "start", value: { model: state.model } }));
  }
  if (ev.messageStart) return out;

  if (ev.contentBlockStart) {
    const index = ev.contentBlockStart.contentBlockIndex ?? 0;
    const toolUse = ev.contentBlockStart.start?.toolUse;
    if (toolUse) {
      const name = toolUse.name ?? "";
      const fate = nextToolUseFate(state.shaping, name, state.tally);
      switch (fate) {
        case "keep":
          state.blocks.set(index, "tool");
          out.push(
            event({
              case: "blockStart",
              value: { index, toolUse: { id: toolUse.toolUseId ?? "", name, inputJson: "" } },
            }),
          );
          break;
        case "as-text":
          // A text block starts implicitly with its first delta.
          state.blocks.set(index, "json-text");
          break;
        case "drop":
          state.blocks.set(index, "suppressed");
          break;
        default: {
          const never: never = fate;
          return never;
        }
      }
    }
    return out;
  }

  if (ev.contentBlockDelta) {
    const index = ev.contentBlockDelta.contentBlockIndex ?? 0;
    const d = ev.contentBlockDelta.delta;
    let mode = state.blocks.get(index);
    if (d?.text !== undefined) {
      if (mode === undefined) {
        mode = dropsText(state.shaping) ? "suppressed" : "text";
        state.blocks.set(index, mode);
      }
      if (mode === "text") out.push(delta(index, { case: "text", value: d.text }));
    } else if (d?.toolUse !== undefined) {
      const fragment = d.toolUse.input ?? "";
      if (mode === "tool") out.push(delta(index, { case: "toolInputJson", value: fragment }));
      if (mode === "json-text") out.push(delta(index, { case: "text", value: fragment }));
    } else if (d?.reasoningContent !== undefined) {
      if (mode === undefined) {
        mode = "reasoning";
        state.blocks.set(index, mode);
      }
      // Signatures and redacted reasoning have no place in the neutral stream.
      const text = d.reasoningContent.text;
      if (mode === "reasoning" && text !== undefined) {
        out.push(delta(index, { case: "reasoningText", value: text }));
      }
    }
    return out;
  }

  if (ev.contentBlockStop) {
    const index = ev.contentBlockStop.contentBlockIndex ?? 0;
    const mode = state.blocks.get(index);
    if (mode !== undefined && mode !== "suppressed") {
      out.push(event({ case: "blockStop", value: { index } }));
    }
    return out;
  }

  if (ev.messageStop) {
    const reason = bedrockStopReasonToStopReason(ev.messageStop.stopReason);
    out.push(event({ case: "stop", value: { stopReason: shapeStopReason(reason, state.tally) } }));
    return out;
  }

  if (ev.metadata) {
    out.push(
      event({
        case: "metadata",
        value: {
          usage: bedrockUsageToUsage(ev.metadata.usage),
          upstreamLatencyMs: ev.metadata.metrics?.latencyMs ?? 0,
        },
      }),
    );
    return out;
  }

  const exception =
    ev.internalServerException ??
    ev.modelStreamErrorException ??
    ev.serviceUnavailableException ??
    ev.throttlingException ??
    ev.validationException;
  if (exception) throw bedrockErrorToStrataError(exception);
  return out;
}
