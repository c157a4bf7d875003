import { invalidRequest, StrataError } from "@strata/errors";
import {
  type ChatCompletionAssistantMessageParam,
  type ChatCompletionMessageParam,
  type ChatCompletionRequest,
  type ChatCompletionToolMessageParam,
  type ChatCompletionUserMessageParam,
  chatCompletionRequestSchema,
} from "./chat-completion-request.ts";
import { parseImageUrl } from "./image-url.ts";
import { checkJsonDepth, isObject } from "./json-depth.ts";
import { maxImages } from "./limits.ts";
import {
  aboveMaximum,
  belowMinimum,
  describeValue,
  invalidValue,
  type NumberKind,
  tooManyImages,
  unsupportedParameter,
  unsupportedValue,
} from "./openai-error-messages.ts";
import { findUnsupportedParameter } from "./unsupported-parameters.ts";
import { zodIssueToStrataError } from "./zod-issue.ts";

/** Largest token count the neutral schema carries (a uint32). */
const maxTokenCount = 4_294_967_295;

/** Numeric ranges from the spec, checked here so messages say "integer" or "decimal" like OpenAI. */
const numberRanges: ReadonlyArray<{
  param: "max_tokens" | "max_completion_tokens" | "temperature" | "top_p" | "n" | "top_logprobs";
  kind: NumberKind;
  minimum: number;
  maximum: number;
}> = [
  { param: "max_tokens", kind: "integer", minimum: 1, maximum: maxTokenCount },
  { param: "max_completion_tokens", kind: "integer", minimum: 1, maximum: maxTokenCount },
  { param: "temperature", kind: "decimal", minimum: 0, maximum: 2 },
  { param: "top_p", kind: "decimal", minimum: 0, maximum: 1 },
  { param: "n", kind: "integer", minimum: 1, maximum: 128 },
  { param: "top_logprobs", kind: "integer", minimum: 0, maximum: 20 },
];
const penalties = ["presence_penalty", "frequency_penalty"] as const;

/**
 * Validates a `POST /v1/chat/completions` body the way OpenAI does, so clients get the 400 they
 * would get from OpenAI (same wording, same `param`), plus a 400 naming any parameter Bedrock
 * cannot honour. Returns the body typed; throws only StrataError (`invalid_request`).
 *
 * Spec: openai-openapi `CreateChatCompletionRequest`; reference:
 * docs/wire-formats.md#chat-completions-request.
 */
export function parseChatCompletionRequest(body: unknown): ChatCompletionRequest {
  try {
    // First, so nothing below walks an absurdly deep value; a body that is not an object at all
    // gets the schema's "must be a JSON object" instead.
    const tooDeep = isObject(body) ? checkJsonDepth(body) : undefined;
    if (tooDeep) throw tooDeep;
    const result = chatCompletionRequestSchema.safeParse(body);
    if (!result.success) {
      const [issue] = result.error.issues;
      throw issue ? zodIssueToStrataError(issue, body) : invalidRequest(undefined, "Invalid body.");
    }
    const request = result.data;
    checkNumberRanges(request);
    checkMessages(request.messages);
    checkTools(request);
    checkToolChoice(request);
    if (request.stream_options != null && request.stream !== true) {
      throw invalidRequest(
        "stream_options",
        "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        "invalid_value",
      );
    }
    const unsupported = findUnsupportedParameter(request);
    if (unsupported) throw unsupported;
    return request;
  } catch (error) {
    if (error instanceof StrataError) throw error;
    throw new StrataError("internal", undefined, { cause: error });
  }
}

function checkNumberRanges(request: ChatCompletionRequest): void {
  for (const { param, kind, minimum, maximum } of numberRanges) {
    const value = request[param];
    if (value == null) continue;
    if (value < minimum) throw belowMinimum(param, kind, minimum, value);
    if (value > maximum) throw aboveMaximum(param, kind, maximum, value);
  }
  for (const param of penalties) {
    const value = request[param];
    if (value == null) continue;
    if (value < -2) throw belowMinimum(param, "decimal", -2, value);
    if (value > 2) throw aboveMaximum(param, "decimal", 2, value);
  }
}

/** The assistant message whose tool calls the following tool messages answer. */
interface OpenToolCalls {
  index: number;
  unanswered: Set<string>;
  all: Set<string>;
}

/**
 * Conversation rules OpenAI enforces (and Bedrock needs): tool messages answer the tool calls of
 * the assistant message right before them (system messages may sit in between), every tool call is
 * answered before the conversation moves on, tool call ids are unique, arguments are JSON objects.
 * Bedrock also needs the conversation to open with a user turn.
 */
function checkMessages(messages: readonly ChatCompletionMessageParam[]): void {
  let open: OpenToolCalls | undefined;
  let conversationStarted = false;
  const toolCallIds = new Set<string>();
  const images = { count: 0 };
  for (const [i, message] of messages.entries()) {
    const role = message.role;
    if (role === "system" || role === "developer") continue;
    if (role === "function") {
      throw unsupportedValue(
        `messages[${i}].role`,
        "function",
        "The 'function' role is deprecated by OpenAI; declare 'tools' and answer 'tool_calls' with 'tool' messages.",
      );
    }
    if (!conversationStarted && role === "assistant") {
      throw invalidRequest(
        "messages",
        `Invalid 'messages': the first message after system and developer messages must be a user message, but messages[${i}] has role 'assistant'. Amazon Bedrock requires a conversation to start with a user turn.`,
        "invalid_value",
      );
    }
    conversationStarted = true;
    switch (role) {
      case "tool":
        answerToolCall(open, message, i);
        break;
      case "user":
        closeToolCalls(open);
        open = undefined;
        checkUserMessage(message, i, images);
        break;
      case "assistant":
        closeToolCalls(open);
        open = checkAssistantMessage(message, i, toolCallIds);
        break;
      default: {
        const unexpected: never = role;
        throw invalidRequest(`messages[${i}].role`, `Invalid value: '${String(unexpected)}'.`);
      }
    }
  }
  closeToolCalls(open);
}

function answerToolCall(
  open: OpenToolCalls | undefined,
  message: ChatCompletionToolMessageParam,
  i: number,
): void {
  if (!open) {
    throw invalidRequest(
      `messages[${i}].role`,
      "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
    );
  }
  const id = message.tool_call_id;
  if (!open.all.has(id)) {
    throw invalidRequest(
      `messages[${i}].tool_call_id`,
      `Invalid parameter: 'tool_call_id' of '${id.slice(0, 64)}' not found in 'tool_calls' of previous message.`,
    );
  }
  if (!open.unanswered.delete(id)) {
    throw invalidRequest(
      `messages[${i}].tool_call_id`,
      `Invalid parameter: the tool call '${id.slice(0, 64)}' has already been answered by an earlier 'tool' message.`,
    );
  }
}

function closeToolCalls(open: OpenToolCalls | undefined): void {
  if (!open || open.unanswered.size === 0) return;
  throw invalidRequest(
    `messages[${open.index}].tool_calls`,
    `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...open.unanswered].join(", ").slice(0, 500)}`,
  );
}

/** Checks a user message's parts; `images` counts the images of the request so far. */
function checkUserMessage(
  message: ChatCompletionUserMessageParam,
  i: number,
  images: { count: number },
): void {
  if (typeof message.content === "string") return;
  for (const [j, part] of message.content.entries()) {
    const param = `messages[${i}].content[${j}]`;
    switch (part.type) {
      case "text":
        break;
      case "image_url":
        if (++images.count > maxImages) throw tooManyImages(param, maxImages);
        parseImageUrl(part.image_url.url, `${param}.image_url.url`);
        break;
      case "input_audio":
        throw unsupportedValue(
          `${param}.type`,
          part.type,
          "Audio input is not available on Amazon Bedrock.",
        );
      case "file":
        throw unsupportedValue(
          `${param}.type`,
          part.type,
          "File inputs are not supported by this gateway; send text or images.",
        );
      default: {
        const unexpected: never = part;
        throw invalidRequest(`${param}.type`, `Invalid value: '${String(unexpected)}'.`);
      }
    }
  }
}

function checkAssistantMessage(
  message: ChatCompletionAssistantMessageParam,
  i: number,
  toolCallIds: Set<string>,
): OpenToolCalls | undefined {
  if (message.function_call != null) {
    throw unsupportedParameter(
      `messages[${i}].function_call`,
      "'function_call' is deprecated by OpenAI; send 'tool_calls' instead.",
    );
  }
  if (message.audio != null) {
    throw unsupportedParameter(`messages[${i}].audio`, "Audio output is not available.");
  }
  const toolCalls = message.tool_calls ?? [];
  if (message.content == null && toolCalls.length === 0 && message.refusal == null) {
    throw invalidRequest(
      `messages[${i}].content`,
      `Missing required parameter: 'messages[${i}].content'. An assistant message must have 'content' or 'tool_calls'.`,
      "missing_required_parameter",
    );
  }
  if (toolCalls.length === 0) return undefined;
  const all = new Set<string>();
  for (const [j, call] of toolCalls.entries()) {
    const param = `messages[${i}].tool_calls[${j}]`;
    if (toolCallIds.has(call.id)) {
      throw invalidValue(
        `${param}.id`,
        `duplicate tool call id '${call.id.slice(0, 64)}'. Tool call ids must be unique within a conversation.`,
      );
    }
    toolCallIds.add(call.id);
    all.add(call.id);
    checkToolArguments(call.function.arguments, `${param}.function.arguments`);
  }
  return { index: i, all, unanswered: new Set(all) };
}

/** Tool call arguments are a JSON object serialised as a string; blank means no arguments. */
function checkToolArguments(text: string, param: string): void {
  if (text.trim() === "") return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidValue(
      param,
      "expected a JSON object serialised as a string, but it is not valid JSON.",
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalidValue(
      param,
      `expected a JSON object serialised as a string, but got ${describeValue(value)}.`,
    );
  }
  const tooDeep = checkJsonDepth(value, param);
  if (tooDeep) throw tooDeep;
}

function checkTools(request: ChatCompletionRequest): void {
  const names = new Set<string>();
  for (const [i, tool] of (request.tools ?? []).entries()) {
    if (tool.type === "custom") {
      throw unsupportedValue(
        `tools[${i}].type`,
        "custom",
        "Only 'function' tools are available on Amazon Bedrock.",
      );
    }
    const name = tool.function.name;
    if (names.has(name)) {
      throw invalidValue(
        `tools[${i}].function.name`,
        `duplicate function name '${name}'. Function names must be unique.`,
      );
    }
    names.add(name);
  }
}

function checkToolChoice(request: ChatCompletionRequest): void {
  const choice = request.tool_choice;
  if (choice == null) return;
  const declared = new Set(
    (request.tools ?? []).flatMap((t) => (t.type === "function" ? [t.function.name] : [])),
  );
  if (declared.size === 0) {
    throw invalidRequest(
      "tool_choice",
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      "invalid_value",
    );
  }
  if (typeof choice === "string") return;
  switch (choice.type) {
    case "function":
      if (!declared.has(choice.function.name)) {
        throw invalidValue(
          "tool_choice",
          `the function '${choice.function.name.slice(0, 64)}' is not among the declared 'tools'.`,
        );
      }
      return;
    case "allowed_tools":
      for (const [k, tool] of choice.allowed_tools.tools.entries()) {
        if (!declared.has(tool.function.name)) {
          throw invalidValue(
            `tool_choice.allowed_tools.tools[${k}].function.name`,
            `the function '${tool.function.name.slice(0, 64)}' is not among the declared 'tools'.`,
          );
        }
      }
      return;
    case "custom":
      throw unsupportedValue(
        "tool_choice.type",
        "custom",
        "Only 'function' tools are available on Amazon Bedrock.",
      );
    default: {
      const unexpected: never = choice;
      throw invalidRequest("tool_choice", `Invalid value: '${String(unexpected)}'.`);
    }
  }
}
