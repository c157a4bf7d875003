import type {
  ContentBlock as BedrockBlock,
  ConverseCommandOutput,
} from "@aws-sdk/client-bedrock-runtime";
import { create } from "@bufbuild/protobuf";
import {
  type ChatResponse,
  ChatResponseSchema,
  type ContentBlock,
  ContentBlockSchema,
} from "@strata/proto";
import {
  type AnswerShaping,
  dropsText,
  newToolUseTally,
  nextToolUseFate,
  type ToolUseTally,
} from "./answer-shaping.ts";
import { bedrockStopReasonToStopReason, shapeStopReason } from "./stop-reason.ts";
import { bedrockUsageToUsage } from "./usage.ts";

/** What a Converse answer is translated for. */
export interface ConverseAnswerContext {
  /** The catalog id of the model that answered. */
  readonly model: string;
  readonly shaping: AnswerShaping;
}

/**
 * Translates a Converse answer into the neutral ChatResponse: text, tool calls (input serialised
 * as JSON), reasoning text with its signature, stop reason, usage with cache counts and Bedrock's
 * latency. Applies the answer shaping (dropped tool calls, JSON tool as text; see
 * answer-shaping.ts). Redacted reasoning and block types Strata does not model (citations,
 * documents, images in answers) are left out. Pure.
 */
export function converseToChatResponse(
  output: ConverseCommandOutput,
  { model, shaping }: ConverseAnswerContext,
): ChatResponse {
  const tally = newToolUseTally();
  const content: ContentBlock[] = [];
  for (const block of output.output?.message?.content ?? []) {
    const translated = blockToNeutral(block, shaping, tally);
    if (translated) content.push(translated);
  }
  return create(ChatResponseSchema, {
    model,
    content,
    stopReason: shapeStopReason(bedrockStopReasonToStopReason(output.stopReason), tally),
    usage: bedrockUsageToUsage(output.usage),
    upstreamLatencyMs: output.metrics?.latencyMs ?? 0,
  });
}

function blockToNeutral(
  block: BedrockBlock,
  shaping: AnswerShaping,
  tally: ToolUseTally,
): ContentBlock | undefined {
  if (block.text !== undefined) {
    if (dropsText(shaping)) return undefined;
    return create(ContentBlockSchema, { block: { case: "text", value: block.text } });
  }
  if (block.toolUse !== undefined) {
    const { toolUseId = "", name = "", input } = block.toolUse;
    const inputJson = JSON.stringify(input ?? {});
    const fate = nextToolUseFate(shaping, name, tally);
    switch (fate) {
      case "keep":
        return create(ContentBlockSchema, {
          block: { case: "toolUse", value: { id: toolUseId, name, inputJson } },
        });
      case "as-text":
        return create(ContentBlockSchema, { block: { case: "text", value: inputJson } });
      case "drop":
        return undefined;
      default: {
        const never: never = fate;
        return never;
      }
    }
  }
  const reasoning = block.reasoningContent?.reasoningText;
  if (reasoning !== undefined) {
    return create(ContentBlockSchema, {
      block: {
        case: "reasoning",
        value: { text: reasoning.text ?? "", signature: reasoning.signature ?? "" },
      },
    });
  }
  return undefined;
}
