import type { TokenUsage } from "@aws-sdk/client-bedrock-runtime";
import { create } from "@bufbuild/protobuf";
import { type Usage, UsageSchema } from "@strata/proto";

/**
 * Bedrock's token usage as the neutral Usage. Cache reads and writes are reported as Bedrock
 * reports them (whether inputTokens already excludes them is Bedrock's definition; metering
 * prices each count separately).
 */
export function bedrockUsageToUsage(usage: TokenUsage | undefined): Usage {
  return create(UsageSchema, {
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    cacheReadInputTokens: usage?.cacheReadInputTokens ?? 0,
    cacheWriteInputTokens: usage?.cacheWriteInputTokens ?? 0,
  });
}
