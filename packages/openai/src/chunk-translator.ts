import { StrataError } from "@strata/errors";
import type { ChatStreamResponse } from "@strata/proto";
import type {
  ChatCompletionChunk,
  ChatCompletionChunkDelta,
  CompletionContext,
  FinishReason,
} from "./chat-completion.ts";
import { usageToCompletionUsage } from "./completion-usage.ts";
import { stopReasonToFinishReason } from "./stop-reason.ts";

/** Options of createChunkTranslator. */
export interface ChunkTranslatorOptions extends CompletionContext {
  /** `stream_options.include_usage`: add the usage chunk, and `usage: null` on the others. */
  includeUsage: boolean;
}

/** Turns the neutral stream events of one answer into OpenAI chunks, in order. */
export interface ChunkTranslator {
  /** The chunks to send for this event (often one, sometimes none or two). */
  next(event: ChatStreamResponse): ChatCompletionChunk[];
}

/**
 * Translates a neutral chat stream into `chat.completion.chunk`s that the OpenAI SDKs' accumulators
 * reassemble (docs/wire-formats.md#streaming-with-server-sent-events): the first chunk carries
 * `role: "assistant"`; a tool call is announced with its id, type and name and an empty
 * `arguments`, then grows by `arguments` fragments; its `index` is the ordinal of the tool call in
 * this answer (0, 1, ...), not the content-block index (a text block before it would shift that);
 * the last choice chunk has an empty delta and the finish reason; with `includeUsage`, one more
 * chunk with no choices carries the usage. Pure: the only state is what this answer has emitted so
 * far.
 */
export function createChunkTranslator(options: ChunkTranslatorOptions): ChunkTranslator {
  const { id, created, includeUsage } = options;
  /** The model named in every chunk: the one the stream's start event says serves it. */
  let model = options.model;
  let roleSent = false;
  let toolCalls = 0;
  /** Content-block index → tool-call ordinal, for the blocks that are tool calls. */
  const toolCallOfBlock = new Map<number, number>();

  const chunk = (
    delta: ChatCompletionChunkDelta,
    finishReason: FinishReason | null = null,
  ): ChatCompletionChunk => {
    const out: ChatCompletionChunk = {
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
    if (includeUsage) out.usage = null;
    return out;
  };

  /** Prefixes the role chunk when this is the first output of the answer. */
  const withRole = (chunks: ChatCompletionChunk[]): ChatCompletionChunk[] => {
    if (roleSent) return chunks;
    roleSent = true;
    return [chunk({ role: "assistant", content: "" }), ...chunks];
  };

  return {
    next(event) {
      const e = event.event;
      switch (e.case) {
        case "start":
          // A fallback model serving the request: every chunk names it (the first chunk, with
          // the role, is emitted here, after the start event).
          if (e.value.model) model = e.value.model;
          return withRole([]);
        case "blockStart": {
          const toolUse = e.value.toolUse;
          if (!toolUse) return [];
          const index = toolCalls++;
          toolCallOfBlock.set(e.value.index, index);
          return withRole([
            chunk({
              tool_calls: [
                {
                  index,
                  id: toolUse.id,
                  type: "function",
                  function: { name: toolUse.name, arguments: "" },
                },
              ],
            }),
          ]);
        }
        case "blockDelta": {
          const delta = e.value.delta;
          switch (delta.case) {
            case "text":
              return delta.value === "" ? [] : withRole([chunk({ content: delta.value })]);
            case "reasoningText":
              return delta.value === ""
                ? []
                : withRole([chunk({ reasoning_content: delta.value })]);
            case "toolInputJson": {
              const index = toolCallOfBlock.get(e.value.index);
              if (index === undefined) {
                throw new StrataError("internal", undefined, {
                  cause: new Error(
                    `tool input for block ${e.value.index}, which did not start as a tool call`,
                  ),
                });
              }
              if (delta.value === "") return [];
              return withRole([
                chunk({ tool_calls: [{ index, function: { arguments: delta.value } }] }),
              ]);
            }
            case undefined:
              return [];
            default: {
              const unexpected: never = delta;
              void unexpected;
              return [];
            }
          }
        }
        case "blockStop":
          return [];
        case "stop":
          return withRole([chunk({}, stopReasonToFinishReason(e.value.stopReason))]);
        case "metadata":
          if (!includeUsage) return [];
          return [
            {
              id,
              object: "chat.completion.chunk",
              created,
              model,
              choices: [],
              usage: usageToCompletionUsage(e.value.usage),
            },
          ];
        case undefined:
          return [];
        default: {
          const unexpected: never = e;
          void unexpected;
          return [];
        }
      }
    },
  };
}
