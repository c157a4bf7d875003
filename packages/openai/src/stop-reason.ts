import { StopReason } from "@strata/proto";
import type { FinishReason } from "./chat-completion.ts";

/**
 * OpenAI's `finish_reason` for the neutral stop reason. OpenAI has no separate "stop sequence"
 * reason (`stop` covers both), counts a full context window as `length` and every kind of
 * filtering as `content_filter`. Unknown values (a newer proto) read as a normal stop.
 *
 * Reference: docs/wire-formats.md#stop-reasons (the mapping AWS's own OpenAI gateway sample uses).
 */
export function stopReasonToFinishReason(reason: StopReason): FinishReason {
  switch (reason) {
    case StopReason.END_TURN:
    case StopReason.STOP_SEQUENCE:
      return "stop";
    case StopReason.MAX_TOKENS:
    case StopReason.CONTEXT_WINDOW_EXCEEDED:
      return "length";
    case StopReason.TOOL_USE:
      return "tool_calls";
    case StopReason.CONTENT_FILTERED:
    case StopReason.GUARDRAIL_INTERVENED:
      return "content_filter";
    case StopReason.UNSPECIFIED:
    case StopReason.MALFORMED_OUTPUT:
      return "stop";
    default: {
      const unknown: never = reason;
      void unknown;
      return "stop";
    }
  }
}
