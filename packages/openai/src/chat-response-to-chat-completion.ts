import type { ChatResponse } from "@strata/proto";
import type {
  ChatCompletion,
  ChatCompletionMessage,
  ChatCompletionMessageToolCall,
  CompletionContext,
} from "./chat-completion.ts";
import { usageToCompletionUsage } from "./completion-usage.ts";
import { stopReasonToFinishReason } from "./stop-reason.ts";

/**
 * The OpenAI body of a non-streamed answer: one choice whose message concatenates the text blocks
 * (null when there is none), lists the tool calls (only when there are some) and carries the
 * reasoning as `reasoning_content` (only when the model exposed some). `id`, `created` and `model`
 * come from the context so the gateway controls what the client sees.
 *
 * Spec: openai-openapi `CreateChatCompletionResponse`;
 * docs/wire-formats.md#chat-completions-response.
 */
export function chatResponseToChatCompletion(
  response: ChatResponse,
  context: CompletionContext,
): ChatCompletion {
  let text: string | null = null;
  let reasoning: string | null = null;
  const toolCalls: ChatCompletionMessageToolCall[] = [];
  for (const { block } of response.content) {
    switch (block.case) {
      case "text":
        text = (text ?? "") + block.value;
        break;
      case "reasoning":
        reasoning = (reasoning ?? "") + block.value.text;
        break;
      case "toolUse":
        toolCalls.push({
          id: block.value.id,
          type: "function",
          function: { name: block.value.name, arguments: block.value.inputJson || "{}" },
        });
        break;
      case "image":
      case "toolResult":
      case undefined:
        break;
      default: {
        const unexpected: never = block;
        void unexpected;
      }
    }
  }
  const message: ChatCompletionMessage = { role: "assistant", content: text, refusal: null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning !== null) message.reasoning_content = reasoning;
  return {
    id: context.id,
    object: "chat.completion",
    created: context.created,
    model: context.model,
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: stopReasonToFinishReason(response.stopReason),
      },
    ],
    usage: usageToCompletionUsage(response.usage),
  };
}
