import { z } from "zod";
import {
  maxContentParts,
  maxImageUrlLength,
  maxMessages,
  maxModelLength,
  maxStopSequences,
  maxTextLength,
  maxTools,
} from "./limits.ts";

// The shape of `POST /v1/chat/completions` bodies, from openai-openapi
// (components.schemas.CreateChatCompletionRequest and the schemas it references). These schemas
// check JSON types, required fields, closed value sets and lengths; the rules that span fields
// (tool messages answer tool calls, tool_choice names a declared tool, unsupported parameters...)
// live in parse-chat-completion-request.ts. Objects are loose: unknown fields are tolerated and
// kept, as OpenAI tolerates fields newer than a client's SDK.

// Lengths and counts are bounded by limits.ts (documented in packages/openai/README.md).

/** Function and response-format names: OpenAI's `^[a-zA-Z0-9_-]+$`, at most 64 characters. */
const identifier = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-zA-Z0-9_-]+$/);

/** Any free-form string: text, arguments, ids, descriptions. */
const text = z.string().max(maxTextLength);

/** A JSON object with any members (JSON Schemas, metadata maps). */
const jsonObject = z.record(z.string(), z.unknown());

/** `{"type":"text","text":"..."}` */
const textPartSchema = z.looseObject({ type: z.literal("text"), text });
/** `{"type":"image_url","image_url":{"url":"https://... | data:image/png;base64,...","detail":"auto"}}` */
const imagePartSchema = z.looseObject({
  type: z.literal("image_url"),
  image_url: z.looseObject({
    url: z.string().max(maxImageUrlLength),
    detail: z.enum(["auto", "low", "high"]).optional(),
  }),
});
/** Audio input: recognised so it can be refused by name (Bedrock Converse has no audio input). */
const inputAudioPartSchema = z.looseObject({
  type: z.literal("input_audio"),
  input_audio: z.unknown(),
});
/** File input: recognised so it can be refused by name. */
const filePartSchema = z.looseObject({ type: z.literal("file"), file: z.unknown() });
/** An assistant's earlier refusal, sent back as history. */
const refusalPartSchema = z.looseObject({
  type: z.literal("refusal"),
  refusal: text,
});

const userPartSchema = z.discriminatedUnion("type", [
  textPartSchema,
  imagePartSchema,
  inputAudioPartSchema,
  filePartSchema,
]);
const assistantPartSchema = z.discriminatedUnion("type", [textPartSchema, refusalPartSchema]);

/** String content, or text parts only (system, developer and tool messages). */
const textContent = z.union([text, z.array(textPartSchema).min(1).max(maxContentParts)]);

/** A tool call of an earlier assistant message, sent back as history. */
const toolCallParamSchema = z.looseObject({
  id: text.min(1),
  type: z.literal("function"),
  function: z.looseObject({ name: identifier, arguments: text }),
});

const systemMessageSchema = z.looseObject({
  role: z.literal("system"),
  content: textContent,
  name: text.optional(),
});
const developerMessageSchema = z.looseObject({
  role: z.literal("developer"),
  content: textContent,
  name: text.optional(),
});
const userMessageSchema = z.looseObject({
  role: z.literal("user"),
  content: z.union([text, z.array(userPartSchema).min(1).max(maxContentParts)]),
  name: text.optional(),
});
const assistantMessageSchema = z.looseObject({
  role: z.literal("assistant"),
  content: z
    .union([text, z.array(assistantPartSchema).min(1).max(maxContentParts)])
    .nullable()
    .optional(),
  refusal: text.nullable().optional(),
  name: text.optional(),
  tool_calls: z.array(toolCallParamSchema).nullable().optional(),
  /** Deprecated by OpenAI; refused (use `tool_calls`). */
  function_call: z.unknown().optional(),
  /** A previous audio answer; refused (no audio output on Bedrock). */
  audio: z.unknown().optional(),
});
const toolMessageSchema = z.looseObject({
  role: z.literal("tool"),
  content: textContent,
  tool_call_id: text,
});
/** The deprecated `function` role: recognised so it can be refused with a pointer to `tool`. */
const functionMessageSchema = z.looseObject({ role: z.literal("function") });

const messageSchema = z.discriminatedUnion("role", [
  systemMessageSchema,
  developerMessageSchema,
  userMessageSchema,
  assistantMessageSchema,
  toolMessageSchema,
  functionMessageSchema,
]);

const functionToolSchema = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({
    name: identifier,
    description: text.nullable().optional(),
    /** A JSON Schema object; absent means a function without arguments. */
    parameters: jsonObject.nullable().optional(),
    strict: z.boolean().nullable().optional(),
  }),
});
/** OpenAI's free-form "custom" tools: recognised so they can be refused by name. */
const customToolSchema = z.looseObject({ type: z.literal("custom") });
const toolSchema = z.discriminatedUnion("type", [functionToolSchema, customToolSchema]);

const namedToolChoiceSchema = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({ name: text }),
});
const allowedToolsChoiceSchema = z.looseObject({
  type: z.literal("allowed_tools"),
  allowed_tools: z.looseObject({
    mode: z.enum(["auto", "required"]),
    tools: z
      .array(
        z.looseObject({
          type: z.literal("function"),
          function: z.looseObject({ name: text }),
        }),
      )
      .min(1)
      .max(maxTools),
  }),
});
const toolChoiceSchema = z.union([
  z.enum(["none", "auto", "required"]),
  z.discriminatedUnion("type", [
    namedToolChoiceSchema,
    allowedToolsChoiceSchema,
    z.looseObject({ type: z.literal("custom") }),
  ]),
]);

const responseFormatSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text") }),
  z.looseObject({ type: z.literal("json_object") }),
  z.looseObject({
    type: z.literal("json_schema"),
    json_schema: z.looseObject({
      name: identifier,
      description: text.nullable().optional(),
      schema: jsonObject.nullable().optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

/** Optional top-level parameter: `null` means "absent", as in OpenAI's SDKs. */
function optional<T extends z.ZodType>(schema: T) {
  return schema.nullable().optional();
}

/**
 * The whole request body. Numeric ranges are checked with the other cross-field rules (they need
 * OpenAI's integer/decimal wording); everything else about a single field is checked here.
 */
export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1).max(maxModelLength),
  messages: z.array(messageSchema).min(1).max(maxMessages),
  tools: optional(z.array(toolSchema).min(1).max(maxTools)),
  tool_choice: optional(toolChoiceSchema),
  parallel_tool_calls: optional(z.boolean()),
  response_format: optional(responseFormatSchema),
  max_tokens: optional(z.int()),
  max_completion_tokens: optional(z.int()),
  temperature: optional(z.number()),
  top_p: optional(z.number()),
  stop: optional(z.union([text.min(1), z.array(text.min(1)).min(1).max(maxStopSequences)])),
  stream: optional(z.boolean()),
  stream_options: optional(
    z.looseObject({
      include_usage: z.boolean().nullable().optional(),
      include_obfuscation: z.boolean().nullable().optional(),
    }),
  ),
  // Parameters below are type-checked, then refused unless harmless (see unsupported-parameters.ts).
  n: optional(z.int()),
  logprobs: optional(z.boolean()),
  top_logprobs: optional(z.int()),
  logit_bias: optional(z.record(z.string(), z.number())),
  presence_penalty: optional(z.number()),
  frequency_penalty: optional(z.number()),
  seed: optional(z.number()),
  modalities: optional(z.array(z.enum(["text", "audio"]))),
  audio: optional(jsonObject),
  prediction: optional(jsonObject),
  web_search_options: optional(jsonObject),
  store: optional(z.boolean()),
  reasoning_effort: optional(z.enum(["none", "minimal", "low", "medium", "high", "xhigh", "max"])),
  service_tier: optional(z.enum(["auto", "default", "flex", "scale", "priority", "fast"])),
  verbosity: optional(z.enum(["low", "medium", "high"])),
  moderation: optional(jsonObject),
  functions: optional(z.array(z.unknown())),
  function_call: optional(z.union([text, jsonObject])),
  // Accepted and ignored: they only steer OpenAI's own caching, abuse detection and storage.
  user: optional(text),
  metadata: optional(z.record(z.string(), text)),
  safety_identifier: optional(text),
  prompt_cache_key: optional(text),
});

/** A validated `POST /v1/chat/completions` body (unknown extra fields are kept). */
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
/** Any message of `messages`, discriminated by `role`. */
export type ChatCompletionMessageParam = z.infer<typeof messageSchema>;
/** `{"role":"system"}`: instructions; lifted into the neutral request's `system`. */
export type ChatCompletionSystemMessageParam = z.infer<typeof systemMessageSchema>;
/** `{"role":"developer"}`: OpenAI's newer name for system; treated the same. */
export type ChatCompletionDeveloperMessageParam = z.infer<typeof developerMessageSchema>;
/** `{"role":"user"}` with text and image parts. */
export type ChatCompletionUserMessageParam = z.infer<typeof userMessageSchema>;
/** `{"role":"assistant"}`: earlier answers, with their tool calls. */
export type ChatCompletionAssistantMessageParam = z.infer<typeof assistantMessageSchema>;
/** `{"role":"tool"}`: the result of one tool call. */
export type ChatCompletionToolMessageParam = z.infer<typeof toolMessageSchema>;
/** `{"role":"function"}`: deprecated by OpenAI, always refused. */
export type ChatCompletionFunctionMessageParam = z.infer<typeof functionMessageSchema>;
/** A content part of a user message. */
export type ChatCompletionContentPart = z.infer<typeof userPartSchema>;
/** A text content part. */
export type ChatCompletionContentPartText = z.infer<typeof textPartSchema>;
/** An image content part (http(s) URL or base64 data URL). */
export type ChatCompletionContentPartImage = z.infer<typeof imagePartSchema>;
/** A tool call in an assistant message of the history. */
export type ChatCompletionMessageToolCallParam = z.infer<typeof toolCallParamSchema>;
/** A declared tool (`function`; `custom` is refused). */
export type ChatCompletionTool = z.infer<typeof toolSchema>;
/** A declared function tool. */
export type ChatCompletionFunctionTool = z.infer<typeof functionToolSchema>;
/** `tool_choice`: a mode, a named function, or an allowed subset. */
export type ChatCompletionToolChoiceOption = z.infer<typeof toolChoiceSchema>;
/** `response_format`: text, JSON object or JSON Schema. */
export type ResponseFormat = z.infer<typeof responseFormatSchema>;
