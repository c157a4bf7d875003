import { invalidRequest } from "@strata/errors";
import type { ChatRequest, Model } from "@strata/proto";
import type { PolicyLayers } from "./policy.ts";

/** Set on an answer whose max_tokens was lowered to the model's limit: `requested=N; limit=M`. */
export const maxTokensClampedHeader = "x-strata-max-tokens-clamped";

/**
 * Whether a max_tokens above the model's output limit is refused (400) rather than lowered: the
 * gateway's STRATA_MAX_TOKENS_MODE, or a tenant or key policy asking for it (any of them).
 */
export function rejectsExcessMaxTokens(
  mode: "clamp" | "reject" | undefined,
  policy: PolicyLayers,
): boolean {
  return (
    mode === "reject" ||
    policy.tenant?.rejectExcessMaxTokens === true ||
    policy.key?.rejectExcessMaxTokens === true
  );
}

/**
 * Brings a request's max_tokens within the model's output limit, in place. Clients send
 * generous defaults (opencode asks for 32,000 on every model) that Bedrock would refuse; lowered
 * to the limit, the answer may end with `length` instead. With `reject`, such a request is a 400
 * naming max_tokens. Returns the header value describing a lowering, or undefined for none.
 * Runs before admission, so the reservation is for the tokens the model can actually produce.
 */
export function applyOutputLimit(
  chat: ChatRequest,
  model: Pick<Model, "maxOutputTokens">,
  reject: boolean,
): string | undefined {
  const requested = chat.inferenceConfig?.maxTokens;
  const limit = model.maxOutputTokens;
  if (requested === undefined || limit <= 0 || requested <= limit || !chat.inferenceConfig)
    return undefined;
  if (reject)
    throw invalidRequest(
      "max_tokens",
      `max_tokens is too large: ${requested}. This model supports at most ${limit} completion tokens.`,
    );
  chat.inferenceConfig.maxTokens = limit;
  return `requested=${requested}; limit=${limit}`;
}
