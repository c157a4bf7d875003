import { StrataError } from "@strata/errors";
import type {
  ChatCompletionChunk,
  ChatCompletionChunkDelta,
  ChatCompletionChunkToolCall,
} from "@strata/openai";
import { type BlockedToolCall, blockDetails, type EnforcedToolPolicy } from "./tool-policy.ts";

/** Options of createToolCallGuard. */
export interface ToolCallGuardOptions {
  /** The caller's enforced tool policy (see enforcedToolPolicy). */
  policy: EnforcedToolPolicy;
  /** Called once for each call that is dropped, when it is dropped (for metrics and audit). */
  onBlocked?: (call: BlockedToolCall) => void;
}

/** Filters the tool calls of one streamed answer; see createToolCallGuard. */
export interface ToolCallGuard {
  /** The chunks to send now for this chunk of the translator (none while a call is held). */
  next(chunk: ChatCompletionChunk): ChatCompletionChunk[];
  /**
   * The chunks still held when the upstream stream ends normally (it always ends with a finish
   * chunk, which releases everything, so this is usually empty). Not called after a failure:
   * calls still held then are never sent.
   */
  end(): ChatCompletionChunk[];
  /** How many calls were dropped so far. */
  readonly blocked: number;
}

/** A tool call being held until it is complete. */
interface HeldCall {
  id: string;
  name: string;
  arguments: string;
  /** The chunks that carried it, each reduced to its one fragment. */
  chunks: ChatCompletionChunk[];
}

/**
 * Sits between the chunk translator and the SSE writer of a streamed answer when a tool policy is
 * enforced. Text and reasoning deltas pass through at once. A call whose name no rule allows is
 * dropped as soon as it starts; any other call's deltas are held until the call is complete (the
 * next call starts, or the finish chunk arrives), then its whole arguments are checked and its
 * deltas either released or dropped. Released calls are renumbered
 * 0, 1, 2… in order, as the SDKs' accumulators address calls by position; ids are kept. When every
 * call of an answer that finished with `tool_calls` was dropped, the finish reason becomes
 * `content_filter` (as filterCompletionToolCalls does for non-streamed answers).
 *
 * Only the single-choice chunks Strata produces are supported (`n` > 1 is refused upstream of
 * this); a fragment for a call that was already released, which the translator never emits, fails
 * the stream rather than let unchecked arguments through.
 */
export function createToolCallGuard({ policy, onBlocked }: ToolCallGuardOptions): ToolCallGuard {
  /** Calls being held, by their upstream index, in the order they started. */
  const held = new Map<number, HeldCall>();
  /** Upstream index → what became of the call: its index for the client, or "blocked". */
  const settled = new Map<number, number | "blocked">();
  let released = 0;
  let blocked = 0;

  const drop = (upstreamIndex: number, call: BlockedToolCall) => {
    blocked++;
    settled.set(upstreamIndex, "blocked");
    onBlocked?.(call);
  };

  /** Checks every held call, in order, and returns the chunks of those released. */
  const settleHeld = (): ChatCompletionChunk[] => {
    const out: ChatCompletionChunk[] = [];
    for (const [upstreamIndex, call] of held) {
      const verdict = policy.checkCall(call.name, call.arguments);
      if (verdict.allowed) {
        const index = released++;
        settled.set(upstreamIndex, index);
        for (const chunk of call.chunks) out.push(renumber(chunk, index));
      } else {
        drop(upstreamIndex, {
          id: call.id,
          name: call.name,
          reason: verdict.reason,
          detail: verdict.detail,
        });
      }
    }
    held.clear();
    return out;
  };

  const hold = (
    chunk: ChatCompletionChunk,
    fragment: ChatCompletionChunkToolCall,
  ): ChatCompletionChunk[] => {
    const fate = settled.get(fragment.index);
    if (fate === "blocked") return [];
    if (fate !== undefined) {
      throw new StrataError("internal", undefined, {
        cause: new Error(`tool call ${fragment.index} continued after it was checked`),
      });
    }
    let out: ChatCompletionChunk[] = [];
    let call = held.get(fragment.index);
    if (!call) {
      // A new call starts: the calls before it are complete.
      out = settleHeld();
      const name = fragment.function?.name ?? "";
      if (!policy.allowsName(name)) {
        // Known at once: nothing of it is held, however long its arguments.
        drop(fragment.index, {
          id: fragment.id ?? "",
          name,
          reason: "name",
          detail: blockDetails.name,
        });
        return out;
      }
      call = {
        id: fragment.id ?? "",
        name,
        arguments: "",
        chunks: [],
      };
      held.set(fragment.index, call);
    }
    call.arguments += fragment.function?.arguments ?? "";
    call.chunks.push(withDelta(chunk, { tool_calls: [fragment] }));
    return out;
  };

  return {
    get blocked() {
      return blocked;
    },
    next(chunk) {
      const choice = chunk.choices[0];
      if (!choice) return [...settleHeld(), chunk];
      if (chunk.choices.length > 1) {
        throw new StrataError("internal", undefined, {
          cause: new Error("the tool-call guard handles one choice per chunk"),
        });
      }
      const fragments = choice.delta.tool_calls;
      if (!fragments && choice.finish_reason === null) return [chunk];

      const out: ChatCompletionChunk[] = [];
      const { tool_calls: _calls, ...rest } = choice.delta;
      if (fragments) {
        for (const fragment of fragments) out.push(...hold(chunk, fragment));
        // Whatever else the chunk carried (text, role) is not held.
        if (Object.keys(rest).length > 0 && choice.finish_reason === null) {
          out.push(withDelta(chunk, rest));
        }
      }
      if (choice.finish_reason !== null) {
        out.push(...settleHeld());
        const finish =
          choice.finish_reason === "tool_calls" && released === 0 && blocked > 0
            ? "content_filter"
            : choice.finish_reason;
        out.push({ ...chunk, choices: [{ ...choice, delta: rest, finish_reason: finish }] });
      }
      return out;
    },
    end: settleHeld,
  };
}

/** The chunk with its choice's delta replaced. */
function withDelta(
  chunk: ChatCompletionChunk,
  delta: ChatCompletionChunkDelta,
): ChatCompletionChunk {
  const choice = chunk.choices[0];
  if (!choice) return chunk;
  return { ...chunk, choices: [{ ...choice, delta }] };
}

/** A held chunk (one fragment) with the fragment's index as the client will see it. */
function renumber(chunk: ChatCompletionChunk, index: number): ChatCompletionChunk {
  const choice = chunk.choices[0];
  const fragment = choice?.delta.tool_calls?.[0];
  if (!choice || !fragment || fragment.index === index) return chunk;
  return withDelta(chunk, { ...choice.delta, tool_calls: [{ ...fragment, index }] });
}
