/**
 * The Converse request and reply as the emulator works with them. Bedrock's wire format encodes
 * unions as "an object with exactly one member" (docs/wire-formats.md#converse-request); validation
 * turns that into `type`-discriminated unions here so generation code gets exhaustive switches.
 */

/** Any JSON value (what `JSON.parse` can return). */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** A JSON object. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Image formats Converse accepts. */
export type ImageFormat = "png" | "jpeg" | "gif" | "webp";

/** A validated image block; `byteLength` is 0 for S3 sources (not fetched). */
export interface ImageContent {
  readonly format: ImageFormat;
  readonly byteLength: number;
}

/** One item of a `toolResult.content` array. */
export type ToolResultItem =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "json"; readonly json: JsonValue }
  | { readonly type: "image"; readonly image: ImageContent }
  | { readonly type: "document"; readonly byteLength: number; readonly text: string };

/** One content block of a message, after validation. */
export type ContentBlock =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image"; readonly image: ImageContent }
  | { readonly type: "document"; readonly byteLength: number; readonly text: string }
  | {
      readonly type: "toolUse";
      readonly toolUseId: string;
      readonly name: string;
      readonly input: JsonValue;
    }
  | {
      readonly type: "toolResult";
      readonly toolUseId: string;
      readonly content: readonly ToolResultItem[];
      readonly status: "success" | "error" | undefined;
    }
  /** Union members the emulator accepts but does not interpret (cachePoint, guardContent, …). */
  | { readonly type: "opaque"; readonly member: string };

/** A conversation turn. */
export interface Message {
  readonly role: "user" | "assistant";
  readonly content: readonly ContentBlock[];
}

/** A tool offered in `toolConfig.tools[].toolSpec`. */
export interface ToolSpec {
  readonly name: string;
  readonly description: string | undefined;
  readonly inputSchema: JsonValue;
}

/** `toolConfig.toolChoice`; absent means `auto`. */
export type ToolChoice =
  | { readonly type: "auto" }
  | { readonly type: "any" }
  | { readonly type: "tool"; readonly name: string };

/** Converse `guardrailConfig` (ConverseStream's adds `streamProcessingMode`). */
export interface GuardrailConfig {
  readonly identifier: string;
  /** `DRAFT` or a version number. */
  readonly version: string;
  readonly trace: "enabled" | "disabled" | "enabled_full" | undefined;
  /** ConverseStream only. */
  readonly streamProcessingMode: "sync" | "async" | undefined;
}

/** A Converse request that passed validation. */
export interface ConverseRequest {
  readonly messages: readonly Message[];
  /** Text of the `system` text blocks, in order. */
  readonly system: readonly string[];
  /** `inferenceConfig.maxTokens`, defaulted to the model's maximum output by validation. */
  readonly maxTokens: number | undefined;
  readonly temperature: number | undefined;
  readonly topP: number | undefined;
  readonly stopSequences: readonly string[];
  /** Whether `toolConfig` was present at all. */
  readonly hasToolConfig: boolean;
  readonly tools: readonly ToolSpec[];
  readonly toolChoice: ToolChoice;
  /** Parsed `outputConfig.textFormat.structure.jsonSchema.schema`, when given. */
  readonly jsonSchema: JsonObject | undefined;
  /** The guardrail to apply, when `guardrailConfig` was given. */
  readonly guardrail: GuardrailConfig | undefined;
}

/** Bedrock `StopReason` values (docs/wire-formats.md#stop-reasons). */
export const STOP_REASONS = [
  "end_turn",
  "tool_use",
  "max_tokens",
  "stop_sequence",
  "guardrail_intervened",
  "content_filtered",
  "malformed_model_output",
  "malformed_tool_use",
  "model_context_window_exceeded",
] as const;

/** A Bedrock stop reason. */
export type StopReason = (typeof STOP_REASONS)[number];

/** Narrows a string to a {@link StopReason}. */
export function isStopReason(value: string): value is StopReason {
  return (STOP_REASONS as readonly string[]).includes(value);
}

/** A content block of the emulated reply. */
export type ReplyBlock =
  | { readonly type: "text"; readonly text: string }
  | {
      readonly type: "toolUse";
      readonly toolUseId: string;
      readonly name: string;
      readonly input: JsonValue;
    };

/** Converse `usage`, exactly the members Bedrock sends. */
export interface Usage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly totalTokens: number;
  readonly cacheReadInputTokens?: number;
  readonly cacheWriteInputTokens?: number;
}

/** The generated assistant turn, rendered as a Converse body or as stream events. */
export interface ConverseReply {
  readonly content: readonly ReplyBlock[];
  readonly stopReason: StopReason;
  readonly usage: Usage;
}
