import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { invalidRequest } from "@strata/errors";
import {
  type ChatRequest,
  ChatRequestSchema,
  type ContentBlock,
  ContentBlockSchema,
  type ImageFormat,
  type InferenceConfig,
  InferenceConfigSchema,
  type ResponseFormat,
  ResponseFormatSchema,
  Role,
  ToolChoiceSchema,
  type ToolConfig,
  ToolConfigSchema,
  ToolResultStatus,
} from "@strata/proto";
import type {
  ChatCompletionAssistantMessageParam,
  ChatCompletionFunctionTool,
  ChatCompletionRequest,
  ChatCompletionToolMessageParam,
  ChatCompletionUserMessageParam,
} from "./chat-completion-request.ts";
import { decodeDataImage, parseImageUrl } from "./image-url.ts";

/** Inputs of the translation that need I/O, done beforehand by the gateway. */
export interface ChatTranslationOptions {
  /**
   * Images the gateway fetched, keyed by the exact URL of the request (see remoteImageUrls). An
   * http(s) image missing from this map is refused with code `image_url_not_supported`: the gateway
   * decides whether it fetches remote images at all.
   */
  remoteImages?: ReadonlyMap<string, { format: ImageFormat; data: Uint8Array }>;
}

/** Tool arguments when the model called a function without any. */
const noArguments = "{}";
/** The schema of a function declared without `parameters`: an object with no constraints. */
const noParameters = { type: "object", properties: {} };

/**
 * The http(s) image URLs of a validated request, each once, in order of appearance: what the gateway
 * must fetch before translating, since Bedrock Converse takes image bytes, not URLs.
 */
export function remoteImageUrls(request: ChatCompletionRequest): string[] {
  const urls = new Set<string>();
  for (const message of request.messages) {
    if (message.role !== "user" || typeof message.content === "string") continue;
    for (const part of message.content) {
      if (part.type === "image_url" && /^https?:/i.test(part.image_url.url)) {
        urls.add(part.image_url.url);
      }
    }
  }
  return [...urls];
}

/**
 * Translates a validated OpenAI chat request into the neutral ChatRequest (close to Bedrock
 * Converse). `model` is copied verbatim; `principal` and `requestId` are left for the gateway.
 *
 * Merging rules (docs: packages/openai/README.md): system and developer messages, wherever they
 * are, become `system` strings in order; the other messages become alternating user/assistant
 * turns — consecutive user and tool messages form one user turn (tool results as `toolResult`
 * blocks, in message order), consecutive assistant messages one assistant turn. Blank text is
 * dropped (Bedrock rejects blank text blocks) and a turn left empty disappears. The first turn
 * must be a user turn (Bedrock requires it): otherwise a 400 on `messages`.
 *
 * Mapping reference: docs/wire-formats.md#openai-to-converse.
 */
export function chatCompletionRequestToChatRequest(
  request: ChatCompletionRequest,
  options: ChatTranslationOptions = {},
): ChatRequest {
  const system: string[] = [];
  const turns: Turn[] = [];
  for (const [i, message] of request.messages.entries()) {
    switch (message.role) {
      case "system":
      case "developer":
        for (const text of textsOf(message.content)) if (!isBlank(text)) system.push(text);
        break;
      case "user":
        addToTurns(turns, Role.USER, userBlocks(message, i, options));
        break;
      case "tool":
        addToTurns(turns, Role.USER, [toolResultBlock(message)]);
        break;
      case "assistant":
        addToTurns(turns, Role.ASSISTANT, assistantBlocks(message, i));
        break;
      case "function":
        throw invalidRequest(`messages[${i}].role`, "The 'function' role is not supported.");
      default: {
        const unexpected: never = message;
        throw invalidRequest(`messages[${i}].role`, `Invalid role '${String(unexpected)}'.`);
      }
    }
  }
  const [first] = turns;
  if (!first || first.role !== Role.USER) {
    throw invalidRequest(
      "messages",
      first
        ? "Invalid 'messages': the conversation must start with a user message with non-blank content. Amazon Bedrock requires a conversation to start with a user turn."
        : "Invalid 'messages': at least one user message with non-blank content is required.",
      "invalid_value",
    );
  }
  return create(ChatRequestSchema, {
    model: request.model,
    system,
    messages: turns,
    toolConfig: toolConfigOf(request),
    inferenceConfig: inferenceConfigOf(request),
    responseFormat: responseFormatOf(request),
  });
}

/** One turn of the neutral conversation while it is being built. */
interface Turn {
  role: Role;
  content: ContentBlock[];
}

/** Appends blocks to the conversation, merging them into the last turn when it has the same role. */
function addToTurns(turns: Turn[], role: Role, blocks: ContentBlock[]): void {
  if (blocks.length === 0) return;
  const last = turns.at(-1);
  if (last && last.role === role) last.content.push(...blocks);
  else turns.push({ role, content: blocks });
}

function isBlank(text: string): boolean {
  return text.trim() === "";
}

function textsOf(content: string | ReadonlyArray<{ text: string }>): string[] {
  return typeof content === "string" ? [content] : content.map((part) => part.text);
}

function textBlock(text: string): ContentBlock {
  return create(ContentBlockSchema, { block: { case: "text", value: text } });
}

function userBlocks(
  message: ChatCompletionUserMessageParam,
  i: number,
  options: ChatTranslationOptions,
): ContentBlock[] {
  if (typeof message.content === "string") {
    return isBlank(message.content) ? [] : [textBlock(message.content)];
  }
  const blocks: ContentBlock[] = [];
  for (const [j, part] of message.content.entries()) {
    const param = `messages[${i}].content[${j}]`;
    switch (part.type) {
      case "text":
        if (!isBlank(part.text)) blocks.push(textBlock(part.text));
        break;
      case "image_url":
        blocks.push(imageBlock(part.image_url.url, `${param}.image_url.url`, options));
        break;
      case "input_audio":
      case "file":
        throw invalidRequest(
          `${param}.type`,
          `Content parts of type '${part.type}' are not supported.`,
        );
      default: {
        const unexpected: never = part;
        throw invalidRequest(`${param}.type`, `Invalid content part '${String(unexpected)}'.`);
      }
    }
  }
  return blocks;
}

function imageBlock(url: string, param: string, options: ChatTranslationOptions): ContentBlock {
  const source = parseImageUrl(url, param);
  let image: { format: ImageFormat; data: Uint8Array };
  if (source.kind === "data") {
    image = decodeDataImage(source, param);
  } else {
    const fetched = options.remoteImages?.get(source.url);
    if (!fetched) {
      throw invalidRequest(
        param,
        `Invalid '${param}': image URLs are not supported by this gateway; send the image as a base64 data URL (data:image/png;base64,...).`,
        "image_url_not_supported",
      );
    }
    image = fetched;
  }
  return create(ContentBlockSchema, {
    block: { case: "image", value: { format: image.format, data: image.data } },
  });
}

function toolResultBlock(message: ChatCompletionToolMessageParam): ContentBlock {
  const content = textsOf(message.content)
    .filter((text) => !isBlank(text))
    .map((text) => ({ content: { case: "text" as const, value: text } }));
  return create(ContentBlockSchema, {
    block: {
      case: "toolResult",
      value: { toolUseId: message.tool_call_id, content, status: ToolResultStatus.SUCCESS },
    },
  });
}

function assistantBlocks(message: ChatCompletionAssistantMessageParam, i: number): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  const texts =
    message.content == null
      ? message.refusal != null
        ? [message.refusal]
        : []
      : typeof message.content === "string"
        ? [message.content]
        : message.content.map((part) => (part.type === "text" ? part.text : part.refusal));
  for (const text of texts) if (!isBlank(text)) blocks.push(textBlock(text));
  for (const [j, call] of (message.tool_calls ?? []).entries()) {
    blocks.push(
      create(ContentBlockSchema, {
        block: {
          case: "toolUse",
          value: {
            id: call.id,
            name: call.function.name,
            inputJson: normaliseArguments(
              call.function.arguments,
              `messages[${i}].tool_calls[${j}].function.arguments`,
            ),
          },
        },
      }),
    );
  }
  return blocks;
}

/** Arguments re-serialised compactly; blank means none (validation checked the rest). */
function normaliseArguments(text: string, param: string): string {
  if (isBlank(text)) return noArguments;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidRequest(
      param,
      `Invalid '${param}': expected a JSON object serialised as a string.`,
    );
  }
  return stringify(value, param);
}

/**
 * JSON text of a client-supplied schema. JSON.stringify throws a RangeError on absurdly deep
 * nesting; that is the client's input at fault, so it becomes a 400 on the field.
 */
function stringify(value: unknown, param: string): string {
  try {
    return JSON.stringify(value);
  } catch {
    throw invalidRequest(param, `Invalid '${param}': the JSON value is too deeply nested.`);
  }
}

function toolConfigOf(request: ChatCompletionRequest): ToolConfig | undefined {
  const functions = (request.tools ?? []).filter(
    (tool): tool is ChatCompletionFunctionTool => tool.type === "function",
  );
  if (functions.length === 0) return undefined;
  const choice = request.tool_choice;
  let allowed: ReadonlySet<string> | undefined;
  let toolChoice: MessageInitShape<typeof ToolChoiceSchema>["choice"];
  if (choice == null || choice === "auto") {
    toolChoice = { case: "auto", value: {} };
  } else if (choice === "none") {
    toolChoice = { case: "none", value: {} };
  } else if (choice === "required") {
    toolChoice = { case: "any", value: {} };
  } else {
    switch (choice.type) {
      case "function":
        toolChoice = { case: "tool", value: { name: choice.function.name } };
        break;
      case "allowed_tools":
        allowed = new Set(choice.allowed_tools.tools.map((tool) => tool.function.name));
        toolChoice =
          choice.allowed_tools.mode === "required"
            ? { case: "any", value: {} }
            : { case: "auto", value: {} };
        break;
      case "custom":
        throw invalidRequest("tool_choice.type", "Custom tools are not supported.");
      default: {
        const unexpected: never = choice;
        throw invalidRequest("tool_choice", `Invalid tool_choice '${String(unexpected)}'.`);
      }
    }
  }
  return create(ToolConfigSchema, {
    tools: functions
      .map((tool, index) => ({ tool, index }))
      .filter(({ tool }) => !allowed || allowed.has(tool.function.name))
      .map(({ tool: { function: fn }, index }) => ({
        name: fn.name,
        description: fn.description ?? "",
        inputSchemaJson: stringify(
          fn.parameters ?? noParameters,
          `tools[${index}].function.parameters`,
        ),
        strict: fn.strict === true,
      })),
    choice: create(ToolChoiceSchema, { choice: toolChoice }),
    disableParallelToolUse: request.parallel_tool_calls === false,
  });
}

function inferenceConfigOf(request: ChatCompletionRequest): InferenceConfig {
  const stop = request.stop;
  return create(InferenceConfigSchema, {
    maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
    temperature: request.temperature ?? undefined,
    topP: request.top_p ?? undefined,
    stopSequences: stop == null ? [] : typeof stop === "string" ? [stop] : stop,
  });
}

function responseFormatOf(request: ChatCompletionRequest): ResponseFormat | undefined {
  const format = request.response_format;
  if (format == null) return undefined;
  switch (format.type) {
    case "text":
      return create(ResponseFormatSchema, { format: { case: "text", value: {} } });
    case "json_object":
      return create(ResponseFormatSchema, { format: { case: "jsonObject", value: {} } });
    case "json_schema": {
      const spec = format.json_schema;
      return create(ResponseFormatSchema, {
        format: {
          case: "jsonSchema",
          value: {
            name: spec.name,
            description: spec.description ?? "",
            schemaJson: stringify(spec.schema ?? {}, "response_format.json_schema.schema"),
            strict: spec.strict === true,
          },
        },
      });
    }
    default: {
      const unexpected: never = format;
      throw invalidRequest(
        "response_format.type",
        `Invalid response_format '${String(unexpected)}'.`,
      );
    }
  }
}
