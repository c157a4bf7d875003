import type { Usage } from "@strata/proto";
import type { CompletionUsage } from "./chat-completion.ts";

/**
 * OpenAI's usage object for the neutral token counts. Bedrock's `inputTokens` excludes the tokens
 * read from or written to the prompt cache, while OpenAI's `prompt_tokens` counts the whole prompt
 * (`cached_tokens` being the part served from cache): so the cache counts are added back.
 * Reasoning tokens are not reported separately by Bedrock; they are inside `completion_tokens`.
 */
export function usageToCompletionUsage(usage: Usage | undefined): CompletionUsage {
  const cacheRead = usage?.cacheReadInputTokens ?? 0;
  const prompt = (usage?.inputTokens ?? 0) + cacheRead + (usage?.cacheWriteInputTokens ?? 0);
  const completion = usage?.outputTokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}
