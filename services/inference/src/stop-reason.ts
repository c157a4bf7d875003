import type { StopReason as BedrockStopReason } from "@aws-sdk/client-bedrock-runtime";
import { StopReason } from "@strata/proto";
import type { ToolUseTally } from "./answer-shaping.ts";

/**
 * Bedrock's stop reason (docs/wire-formats.md#stop-reasons) as the neutral StopReason. Both
 * malformed variants become MALFORMED_OUTPUT. A value this SDK version does not know yet (Bedrock
 * adds reasons over time) becomes END_TURN: the answer arrived whole as far as Strata can tell, and
 * a client that sees "stop" handles it correctly; the raw value is still available to logs.
 */
export function bedrockStopReasonToStopReason(reason: BedrockStopReason | undefined): StopReason {
  switch (reason) {
    case "end_turn":
      return StopReason.END_TURN;
    case "stop_sequence":
      return StopReason.STOP_SEQUENCE;
    case "max_tokens":
      return StopReason.MAX_TOKENS;
    case "tool_use":
      return StopReason.TOOL_USE;
    case "content_filtered":
      return StopReason.CONTENT_FILTERED;
    case "guardrail_intervened":
      return StopReason.GUARDRAIL_INTERVENED;
    case "model_context_window_exceeded":
      return StopReason.CONTEXT_WINDOW_EXCEEDED;
    case "malformed_model_output":
    case "malformed_tool_use":
      return StopReason.MALFORMED_OUTPUT;
    case undefined:
      return StopReason.END_TURN;
    default: {
      const unknown: never = reason;
      void unknown;
      return StopReason.END_TURN;
    }
  }
}

/**
 * The stop reason after answer shaping: TOOL_USE with no tool call left in the answer (all were
 * dropped, or the call was the JSON response tool turned into text) becomes END_TURN, so a client
 * never waits for tool calls that are not there.
 */
export function shapeStopReason(reason: StopReason, tally: ToolUseTally): StopReason {
  return reason === StopReason.TOOL_USE && tally.kept === 0 ? StopReason.END_TURN : reason;
}
