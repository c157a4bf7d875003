import type { StrataError } from "@strata/errors";
import type { ChatCompletionRequest } from "./chat-completion-request.ts";
import { unsupportedParameter, unsupportedValue } from "./openai-error-messages.ts";

/**
 * One OpenAI parameter that Amazon Bedrock cannot honour. `harmless` says which values ask for
 * nothing beyond what Bedrock does anyway (`n: 1`, `store: false`); any other non-null value is
 * refused with a 400 naming the parameter, never silently ignored. `byValue` words the refusal
 * around the value ("does not support 2") rather than the parameter's mere presence.
 */
export interface UnsupportedParameter {
  readonly param: keyof ChatCompletionRequest & string;
  readonly harmless: (value: never) => boolean;
  readonly byValue: boolean;
  readonly why: string;
}

const never = () => false;

/**
 * The parameters of `CreateChatCompletionRequest` this gateway refuses, and why. This table is
 * user documentation too: packages/openai/README.md lists the same rows.
 */
export const unsupportedParameters: readonly UnsupportedParameter[] = [
  {
    param: "n",
    harmless: (v: number) => v === 1,
    byValue: true,
    why: "Amazon Bedrock generates one choice per request; omit 'n' or set it to 1.",
  },
  {
    param: "logprobs",
    harmless: (v: boolean) => v === false,
    byValue: true,
    why: "Amazon Bedrock does not return log probabilities.",
  },
  {
    param: "top_logprobs",
    harmless: never,
    byValue: false,
    why: "Amazon Bedrock does not return log probabilities.",
  },
  {
    param: "logit_bias",
    harmless: (v: Record<string, number>) => Object.keys(v).length === 0,
    byValue: false,
    why: "Amazon Bedrock has no token biasing.",
  },
  {
    param: "presence_penalty",
    harmless: (v: number) => v === 0,
    byValue: true,
    why: "Amazon Bedrock has no presence penalty; omit it or set it to 0.",
  },
  {
    param: "frequency_penalty",
    harmless: (v: number) => v === 0,
    byValue: true,
    why: "Amazon Bedrock has no frequency penalty; omit it or set it to 0.",
  },
  {
    param: "seed",
    harmless: never,
    byValue: false,
    why: "Amazon Bedrock has no seeded sampling.",
  },
  {
    param: "modalities",
    harmless: (v: string[]) => v.length === 1 && v[0] === "text",
    byValue: true,
    why: "Only text output is available; omit 'modalities' or set it to [\"text\"].",
  },
  { param: "audio", harmless: never, byValue: false, why: "Audio output is not available." },
  {
    param: "prediction",
    harmless: never,
    byValue: false,
    why: "Predicted outputs are not available.",
  },
  {
    param: "web_search_options",
    harmless: never,
    byValue: false,
    why: "Web search is not available.",
  },
  {
    param: "store",
    harmless: (v: boolean) => v === false,
    byValue: true,
    why: "Stored completions are not available; omit 'store' or set it to false.",
  },
  {
    param: "reasoning_effort",
    harmless: (v: string) => v === "none",
    byValue: true,
    why: "Reasoning effort cannot be chosen through this gateway; omit it or set it to 'none'.",
  },
  {
    param: "service_tier",
    harmless: (v: string) => v === "auto" || v === "default",
    byValue: true,
    why: "Only the 'auto' and 'default' service tiers are available.",
  },
  {
    param: "verbosity",
    harmless: never,
    byValue: false,
    why: "Amazon Bedrock has no verbosity control.",
  },
  {
    param: "moderation",
    harmless: never,
    byValue: false,
    why: "Inline moderation is not available.",
  },
  {
    param: "functions",
    harmless: never,
    byValue: false,
    why: "'functions' is deprecated by OpenAI; declare 'tools' instead.",
  },
  {
    param: "function_call",
    harmless: never,
    byValue: false,
    why: "'function_call' is deprecated by OpenAI; use 'tool_choice' instead.",
  },
];

/** The refusal for the first parameter of the table the request sets to a non-harmless value. */
export function findUnsupportedParameter(request: ChatCompletionRequest): StrataError | undefined {
  for (const rule of unsupportedParameters) {
    const value = request[rule.param];
    if (value === undefined || value === null) continue;
    if ((rule.harmless as (v: unknown) => boolean)(value)) continue;
    return rule.byValue
      ? unsupportedValue(rule.param, value, rule.why)
      : unsupportedParameter(rule.param, rule.why);
  }
  return undefined;
}
