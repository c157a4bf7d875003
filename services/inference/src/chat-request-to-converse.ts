import type {
  ContentBlock as BedrockBlock,
  ImageBlock as BedrockImage,
  Message as BedrockMessage,
  ToolChoice as BedrockToolChoice,
  ConverseCommandInput,
  InferenceConfiguration,
  OutputConfig,
  SystemContentBlock,
  Tool,
  ToolConfiguration,
  ToolResultContentBlock,
  ToolUseBlock,
} from "@aws-sdk/client-bedrock-runtime";
import { invalidRequest } from "@strata/errors";
import {
  type ChatRequest,
  type ContentBlock,
  type ImageBlock,
  ImageFormat,
  type Message,
  Role,
  type ToolResultBlock,
  ToolResultStatus,
  type ToolSpec,
} from "@strata/proto";
import type { AnswerShaping } from "./answer-shaping.ts";
import type { CatalogEntry } from "./catalog.ts";

/** The name of the forced tool that carries a structured answer (see {@link chatRequestToConverse}). */
export const jsonResponseToolName = "json_response";

/** Added to the system prompt for response_format json_object (Converse has no JSON mode). */
export const jsonObjectInstruction = "Respond only with a valid JSON object.";

/**
 * Added to the system prompt when tools must stay declared (the history has tool blocks, so
 * Bedrock requires toolConfig) although the client asked for no tool use.
 */
export const noToolsInstruction =
  "Do not call any tool in this answer. Answer with text only, using the tool results above.";

/** A Converse request and how its answer must be shaped. */
export interface ConverseTranslation {
  /** Converse input; ConverseStream takes the same members. */
  readonly input: ConverseCommandInput;
  readonly shaping: AnswerShaping;
}

/**
 * Translates a neutral ChatRequest into a Converse request for one catalog entry, checking the
 * model's capabilities first so that clients get a precise `invalid_request` (with OpenAI's
 * `param`) instead of a Bedrock ValidationException. Pure: no I/O, no clock.
 *
 * Mapping decisions (the facts they rest on: docs/wire-formats.md#openai-to-converse):
 * - System prompts become `system` blocks; for a model without system prompts they are folded,
 *   as a prefix, into the first user turn rather than refused.
 * - Consecutive messages of the same role are merged into one turn (Bedrock requires alternating
 *   roles; OpenAI clients do not).
 * - tool_choice none: Converse has no "none". Without tool blocks in the history, toolConfig is
 *   omitted, so the model cannot call tools. With them (Bedrock then requires toolConfig), the
 *   tools are sent with auto, the system prompt tells the model not to call them, and the answer
 *   translators drop any tool call it makes anyway. History with tool blocks but no declared
 *   tools is treated the same way, with tool specs synthesised from the history's tool names.
 * - Parallel tool calls disabled: the answer keeps only its first tool call.
 * - response_format json_schema: native `outputConfig.textFormat` (schema as a JSON string) when
 *   the model supports structured output; otherwise a forced `json_response` tool whose input
 *   is the answer (turned back into text by the answer translators). With client tools also
 *   active, the JSON tool joins them and the choice becomes "any" (call a tool or answer).
 * - response_format json_object: a system instruction (Converse has no JSON mode).
 * - maxTokens left unset when the client sets none: Bedrock then applies the model's default.
 * - Temperature above 1 is refused: Bedrock models accept 0..1, unlike OpenAI's 0..2.
 * - Tool results keep text as text, even when it is JSON: every Converse model accepts text,
 *   and `{json}` is not accepted by all of them.
 */
export function chatRequestToConverse(
  request: ChatRequest,
  entry: CatalogEntry,
): ConverseTranslation {
  if (entry.kind === "embedding") {
    throw invalidRequest(
      "model",
      `\`${request.model}\` is an embedding model; use /v1/embeddings with it.`,
      "model_not_supported",
    );
  }
  if (request.messages.length === 0) {
    throw invalidRequest("messages", "messages must contain at least one message.");
  }
  const inferenceConfig = toInferenceConfig(request, entry);
  const history = historyToolNames(request.messages);
  const messages = mergeSameRole(request.messages.map((m, i) => messageToConverse(m, i, entry)));
  if (history.size > 0 && !entry.capabilities.tools) {
    throw invalidRequest(
      "messages",
      `The model \`${request.model}\` does not support tools, but the conversation contains tool calls.`,
    );
  }

  const tools = toolsOf(request, entry, history);
  const format = request.responseFormat?.format ?? { case: undefined };
  const instructions: string[] = [];
  let outputConfig: OutputConfig | undefined;
  let toolConfig = tools.config;
  let jsonResponseTool: string | undefined;
  switch (format.case) {
    case undefined:
    case "text":
      break;
    case "jsonObject":
      instructions.push(jsonObjectInstruction);
      break;
    case "jsonSchema": {
      if (format.value.schemaJson.trim() === "") {
        throw invalidRequest("response_format", "response_format.json_schema.schema is required.");
      }
      const schema = parseJsonObject(
        format.value.schemaJson,
        "response_format",
        "response_format.json_schema.schema must be a JSON object.",
      );
      if (entry.capabilities.structuredOutput) {
        outputConfig = {
          textFormat: {
            type: "json_schema",
            structure: {
              jsonSchema: {
                schema: JSON.stringify(schema),
                ...(format.value.name ? { name: format.value.name } : {}),
                ...(format.value.description ? { description: format.value.description } : {}),
              },
            },
          },
        };
      } else if (entry.capabilities.tools) {
        toolConfig = withJsonResponseTool(tools, schema, format.value.description);
        jsonResponseTool = jsonResponseToolName;
      } else {
        throw invalidRequest(
          "response_format",
          `The model \`${request.model}\` supports neither structured output nor tools, so response_format json_schema cannot be honoured.`,
        );
      }
      break;
    }
    default: {
      const never: never = format;
      throw invalidRequest("response_format", `Unsupported response_format ${String(never)}.`);
    }
  }

  // A forced JSON tool already rules other tools out; telling the model "no tools" would contradict it.
  if (tools.dropToolUse && toolConfig && jsonResponseTool === undefined) {
    instructions.unshift(noToolsInstruction);
  }
  const systemTexts = [...request.system.filter((s) => s.trim() !== ""), ...instructions];
  let system: SystemContentBlock[] | undefined;
  if (systemTexts.length > 0) {
    if (entry.capabilities.systemPrompt) system = systemTexts.map((text) => ({ text }));
    else foldIntoFirstUserTurn(messages, systemTexts.join("\n\n"));
  }

  const input: ConverseCommandInput = {
    modelId: entry.bedrockModelId,
    messages,
    ...(system ? { system } : {}),
    ...(inferenceConfig ? { inferenceConfig } : {}),
    ...(toolConfig ? { toolConfig } : {}),
    ...(outputConfig ? { outputConfig } : {}),
  };
  return {
    input,
    shaping: {
      dropToolUse: tools.dropToolUse,
      firstToolUseOnly: request.toolConfig?.disableParallelToolUse ?? false,
      jsonResponseTool,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Inference configuration.

function toInferenceConfig(
  request: ChatRequest,
  entry: CatalogEntry,
): InferenceConfiguration | undefined {
  const config = request.inferenceConfig;
  if (!config) return undefined;
  const out: InferenceConfiguration = {};
  if (config.maxTokens !== undefined) {
    if (config.maxTokens < 1) throw invalidRequest("max_tokens", "max_tokens must be at least 1.");
    if (config.maxTokens > entry.maxOutputTokens) {
      throw invalidRequest(
        "max_tokens",
        `max_tokens is too large: ${config.maxTokens}. This model supports at most ${entry.maxOutputTokens} completion tokens.`,
      );
    }
    out.maxTokens = config.maxTokens;
  }
  if (config.temperature !== undefined) {
    const temperature = float32ToDecimal(config.temperature);
    if (!(temperature >= 0 && temperature <= 1)) {
      throw invalidRequest(
        "temperature",
        `temperature must be between 0 and 1 for this model (Bedrock's range); got ${temperature}.`,
      );
    }
    out.temperature = temperature;
  }
  if (config.topP !== undefined) {
    const topP = float32ToDecimal(config.topP);
    if (!(topP >= 0 && topP <= 1)) {
      throw invalidRequest("top_p", `top_p must be between 0 and 1; got ${topP}.`);
    }
    out.topP = topP;
  }
  if (config.stopSequences.length > 0) out.stopSequences = [...config.stopSequences];
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The shortest decimal that is the same float32: proto `float` turns 0.7 into
 * 0.699999988079071, which Bedrock would receive verbatim.
 */
export function float32ToDecimal(value: number): number {
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === Math.fround(value)) return candidate;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Messages.

function roleToConverse(role: Role, index: number): "user" | "assistant" {
  switch (role) {
    case Role.USER:
      return "user";
    case Role.ASSISTANT:
      return "assistant";
    case Role.UNSPECIFIED:
      throw invalidRequest(`messages[${index}].role`, "Every message needs a role.");
    default: {
      const never: never = role;
      throw invalidRequest(`messages[${index}].role`, `Invalid role ${String(never)}.`);
    }
  }
}

function messageToConverse(message: Message, index: number, entry: CatalogEntry): BedrockMessage {
  const role = roleToConverse(message.role, index);
  const hasOtherContent = message.content.some(
    (b) => b.block.case !== "text" || b.block.value.trim() !== "",
  );
  const content: BedrockBlock[] = [];
  for (const block of message.content) {
    // OpenAI clients send `content: ""` next to tool calls; Bedrock refuses blank text blocks.
    if (block.block.case === "text" && block.block.value.trim() === "" && hasOtherContent) continue;
    content.push(blockToConverse(block, index, entry));
  }
  return { role, content };
}

function blockToConverse(block: ContentBlock, index: number, entry: CatalogEntry): BedrockBlock {
  const b = block.block;
  switch (b.case) {
    case "text":
      return { text: b.value };
    case "image":
      return { image: imageToConverse(b.value, index, entry) };
    case "toolUse":
      return {
        toolUse: {
          toolUseId: b.value.id,
          name: b.value.name,
          input: parseJsonObject(
            b.value.inputJson,
            "messages",
            `messages[${index}]: the arguments of tool call ${b.value.id} are not a JSON object.`,
          ),
        },
      };
    case "toolResult":
      return { toolResult: toolResultToConverse(b.value, index, entry) };
    case "reasoning":
      return {
        reasoningContent: {
          reasoningText: {
            text: b.value.text,
            ...(b.value.signature ? { signature: b.value.signature } : {}),
          },
        },
      };
    case undefined:
      throw invalidRequest("messages", `messages[${index}] has an empty content block.`);
    default: {
      const never: never = b;
      throw invalidRequest("messages", `Unsupported content block ${String(never)}.`);
    }
  }
}

function toolResultToConverse(
  result: ToolResultBlock,
  index: number,
  entry: CatalogEntry,
): NonNullable<BedrockBlock.ToolResultMember["toolResult"]> {
  const content: ToolResultContentBlock[] = result.content.map((c) => {
    const v = c.content;
    switch (v.case) {
      case "text":
        return { text: v.value };
      case "image":
        return { image: imageToConverse(v.value, index, entry) };
      case undefined:
        return { text: "" };
      default: {
        const never: never = v;
        throw invalidRequest("messages", `Unsupported tool result content ${String(never)}.`);
      }
    }
  });
  const status = toolResultStatus(result.status);
  return { toolUseId: result.toolUseId, content, ...(status ? { status } : {}) };
}

function toolResultStatus(status: ToolResultStatus): "success" | "error" | undefined {
  switch (status) {
    case ToolResultStatus.SUCCESS:
      return "success";
    case ToolResultStatus.ERROR:
      return "error";
    case ToolResultStatus.UNSPECIFIED:
      return undefined;
    default: {
      const never: never = status;
      void never;
      return undefined;
    }
  }
}

function imageToConverse(image: ImageBlock, index: number, entry: CatalogEntry): BedrockImage {
  if (!entry.capabilities.vision) {
    throw invalidRequest(
      "messages",
      `messages[${index}]: the model \`${entry.id}\` does not support image input.`,
      "image_not_supported",
    );
  }
  return { format: imageFormat(image.format, index), source: { bytes: image.data } };
}

function imageFormat(format: ImageFormat, index: number): "png" | "jpeg" | "gif" | "webp" {
  switch (format) {
    case ImageFormat.PNG:
      return "png";
    case ImageFormat.JPEG:
      return "jpeg";
    case ImageFormat.GIF:
      return "gif";
    case ImageFormat.WEBP:
      return "webp";
    case ImageFormat.UNSPECIFIED:
      throw invalidRequest(
        "messages",
        `messages[${index}]: images must be PNG, JPEG, GIF or WebP.`,
        "invalid_image_format",
      );
    default: {
      const never: never = format;
      throw invalidRequest("messages", `Unsupported image format ${String(never)}.`);
    }
  }
}

/** Bedrock rejects consecutive turns of the same role; OpenAI allows them. */
function mergeSameRole(messages: BedrockMessage[]): BedrockMessage[] {
  const merged: BedrockMessage[] = [];
  for (const message of messages) {
    const last = merged.at(-1);
    if (last && last.role === message.role) {
      last.content = [...(last.content ?? []), ...(message.content ?? [])];
    } else {
      merged.push({ role: message.role, content: [...(message.content ?? [])] });
    }
  }
  return merged;
}

/** Prefixes the first user turn with the system text (models without a system prompt). */
function foldIntoFirstUserTurn(messages: BedrockMessage[], systemText: string): void {
  const first = messages.find((m) => m.role === "user");
  if (!first) {
    messages.unshift({ role: "user", content: [{ text: systemText }] });
    return;
  }
  const content = first.content ?? [];
  const head = content[0];
  if (head && "text" in head && typeof head.text === "string") {
    content[0] = { text: `${systemText}\n\n${head.text}` };
  } else {
    content.unshift({ text: systemText });
  }
  first.content = content;
}

/** Names of the tools called in the history (tool results count, by their call's name if known). */
function historyToolNames(messages: readonly Message[]): Set<string> {
  const names = new Set<string>();
  let hasResults = false;
  for (const m of messages) {
    for (const { block } of m.content) {
      if (block.case === "toolUse") names.add(block.value.name);
      if (block.case === "toolResult") hasResults = true;
    }
  }
  // A result without its call still needs toolConfig; an empty name marks "tool blocks present".
  if (hasResults && names.size === 0) names.add("");
  return names;
}

// ---------------------------------------------------------------------------------------------
// Tools.

interface ToolsPlan {
  /** toolConfig to send, if any. */
  readonly config: ToolConfiguration | undefined;
  /** The client's own tools are active (declared and not switched off). */
  readonly clientToolsActive: boolean;
  /** Tools to keep declared when a JSON response tool is forced (history tool names). */
  readonly keptTools: Tool[];
  readonly dropToolUse: boolean;
}

function toolsOf(request: ChatRequest, entry: CatalogEntry, history: Set<string>): ToolsPlan {
  const declared = request.toolConfig?.tools ?? [];
  const choice = request.toolConfig?.choice?.choice ?? { case: undefined };
  if (declared.length > 0 && !entry.capabilities.tools && choice.case !== "none") {
    throw invalidRequest(
      "tools",
      `The model \`${request.model}\` does not support tools.`,
      "tools_not_supported",
    );
  }
  const specs = declared.map((t, i) => toolSpecToConverse(t, i));
  if (declared.some((t) => t.name === jsonResponseToolName)) {
    const format = request.responseFormat?.format.case;
    if (format === "jsonSchema" && !entry.capabilities.structuredOutput) {
      throw invalidRequest(
        "tools",
        `The tool name \`${jsonResponseToolName}\` is reserved when response_format is json_schema.`,
      );
    }
  }
  if (declared.length === 0 && (choice.case === "any" || choice.case === "tool")) {
    throw invalidRequest("tool_choice", "tool_choice requires tools.");
  }
  const toolsOff = choice.case === "none" || declared.length === 0;
  if (toolsOff) {
    if (history.size === 0) {
      return {
        config: undefined,
        clientToolsActive: false,
        keptTools: [],
        dropToolUse: choice.case === "none",
      };
    }
    // Bedrock requires toolConfig when the history has tool blocks.
    const kept = specs.length > 0 ? specs : synthesizedTools(history);
    return {
      config: { tools: kept, toolChoice: { auto: {} } },
      clientToolsActive: false,
      keptTools: kept,
      dropToolUse: true,
    };
  }
  let toolChoice: BedrockToolChoice;
  switch (choice.case) {
    case undefined:
    case "auto":
      toolChoice = { auto: {} };
      break;
    case "any":
      toolChoice = { any: {} };
      break;
    case "tool": {
      const name = choice.value.name;
      if (!declared.some((t) => t.name === name)) {
        throw invalidRequest(
          "tool_choice",
          `tool_choice names \`${name}\`, which is not in tools.`,
        );
      }
      toolChoice = { tool: { name } };
      break;
    }
    default: {
      const never: never = choice;
      throw invalidRequest("tool_choice", `Unsupported tool_choice ${String(never)}.`);
    }
  }
  return {
    config: { tools: specs, toolChoice },
    clientToolsActive: true,
    keptTools: specs,
    dropToolUse: false,
  };
}

function withJsonResponseTool(
  plan: ToolsPlan,
  schema: JsonDocument,
  description: string,
): ToolConfiguration {
  const jsonTool: Tool = {
    toolSpec: {
      name: jsonResponseToolName,
      description:
        description ||
        "Respond with the structured answer: call this tool with the answer as its input.",
      inputSchema: { json: schema },
    },
  };
  const tools = [...plan.keptTools, jsonTool];
  if (plan.clientToolsActive && plan.config?.toolChoice && !("tool" in plan.config.toolChoice)) {
    // The model may call one of the client's tools or answer through the JSON tool.
    return { tools, toolChoice: { any: {} } };
  }
  if (plan.clientToolsActive && plan.config?.toolChoice) {
    // The client forces one of its tools: the JSON format applies to a later turn.
    return { tools, toolChoice: plan.config.toolChoice };
  }
  return { tools, toolChoice: { tool: { name: jsonResponseToolName } } };
}

function toolSpecToConverse(tool: ToolSpec, index: number): Tool {
  const schema = tool.inputSchemaJson
    ? parseJsonObject(
        tool.inputSchemaJson,
        `tools[${index}].function.parameters`,
        `tools[${index}].function.parameters must be a JSON Schema object.`,
      )
    : { type: "object", properties: {} };
  return {
    toolSpec: {
      name: tool.name,
      ...(tool.description ? { description: tool.description } : {}),
      inputSchema: { json: schema },
      ...(tool.strict ? { strict: true } : {}),
    },
  };
}

/** Minimal specs for tools named in the history but not declared by the client. */
function synthesizedTools(history: Set<string>): Tool[] {
  const names = [...history].filter((n) => n !== "");
  return (names.length > 0 ? names : ["tool"]).map((name) => ({
    toolSpec: { name, inputSchema: { json: { type: "object", properties: {} } } },
  }));
}

/** A JSON value as the SDK types Converse documents. */
type JsonDocument = NonNullable<ToolUseBlock["input"]>;

/**
 * Deepest nesting of objects and arrays accepted in a JSON document (tool schemas and arguments,
 * response schemas): the AWS SDK serialises documents recursively and overflows the stack on
 * deeper ones, which would be a 500. The gateway already refuses more than 128 levels in a whole
 * request body, so through it this never fires.
 */
export const maxJsonDocumentDepth = 128;

function parseJsonObject(json: string, param: string, message: string): JsonDocument {
  if (json.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw invalidRequest(param, message);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalidRequest(param, message);
  }
  if (depthExceeds(value, maxJsonDocumentDepth)) {
    throw invalidRequest(
      param,
      `${param}: the JSON value is nested more than ${maxJsonDocumentDepth} levels deep.`,
      "nested_too_deeply",
    );
  }
  return value as JsonDocument;
}

/** Whether objects and arrays nest more than `max` levels (the value itself is level 1). Iterative. */
function depthExceeds(value: object, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [node, depth] = top;
    if (node === null || typeof node !== "object") continue;
    if (depth > max) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}
