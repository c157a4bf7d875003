/**
 * Validates a Converse / ConverseStream body the way Bedrock does, and converts it to the
 * emulator's {@link ConverseRequest}. The point is that a gateway's translation bugs (a
 * conversation starting with an assistant turn, a forgotten toolConfig, a JPEG labelled png, an
 * unsupported capability) fail against the emulator exactly as they would against Bedrock.
 * Messages quote Bedrock's wording where it is known (docs/wire-formats.md#converse-request).
 *
 * The emulator is deliberately stricter than Bedrock in one place: unknown members at the top
 * level and in `inferenceConfig` are rejected, because SDK clients never send them and a gateway
 * that does has a translation bug.
 */
import type {
  ContentBlock,
  ConverseRequest,
  GuardrailConfig,
  ImageContent,
  ImageFormat,
  JsonObject,
  JsonValue,
  Message,
  ToolChoice,
  ToolResultItem,
  ToolSpec,
} from "./converse-types.ts";
import { EmulatorError, validationError } from "./emulator-error.ts";
import { decodeBase64, detectImageFormat } from "./image-bytes.ts";
import { isJsonObject, jsonTypeName } from "./json-body.ts";
import type { EmulatedModel } from "./models.ts";
import { countInputTokens } from "./tokens.ts";

const TOP_LEVEL_MEMBERS = new Set([
  "messages",
  "system",
  "inferenceConfig",
  "toolConfig",
  "guardrailConfig",
  "additionalModelRequestFields",
  "promptVariables",
  "additionalModelResponseFieldPaths",
  "requestMetadata",
  "performanceConfig",
  "serviceTier",
  "outputConfig",
]);
const INFERENCE_CONFIG_MEMBERS = new Set(["maxTokens", "temperature", "topP", "stopSequences"]);
const OPAQUE_CONTENT_MEMBERS = new Set([
  "video",
  "audio",
  "guardContent",
  "cachePoint",
  "reasoningContent",
  "citationsContent",
  "searchResult",
  "toolAddition",
  "toolRemoval",
]);
const IMAGE_FORMATS: readonly ImageFormat[] = ["png", "jpeg", "gif", "webp"];
const DOCUMENT_FORMATS = new Set(["pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"]);
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const GUARDRAIL_VERSION = /^(DRAFT|\d{1,8})$/;
const MAX_GUARDRAIL_IDENTIFIER = 2048;
const GUARDRAIL_TRACES = ["enabled", "disabled", "enabled_full"] as const;
const STREAM_PROCESSING_MODES = ["sync", "async"] as const;
const MAX_STOP_SEQUENCES = 4;

/** Bedrock's message when tool blocks appear without a toolConfig. */
export const TOOL_CONFIG_REQUIRED_MESSAGE =
  "The toolConfig field must be defined when using toolUse and toolResult content blocks.";
/** Bedrock's message when the input exceeds the context window. */
export const INPUT_TOO_LONG_MESSAGE = "Input is too long for requested model.";

const isImageFormat = (value: JsonValue | undefined): value is ImageFormat =>
  typeof value === "string" && (IMAGE_FORMATS as readonly string[]).includes(value);

/** The single member of a union object, or a ValidationException naming the problem. */
function unionMember(
  value: JsonValue | undefined,
  path: string,
  what: string,
): [string, JsonValue] {
  if (!isJsonObject(value)) {
    throw validationError(`${path} must be a ${what} object, got ${jsonTypeName(value)}.`);
  }
  const entries = Object.entries(value);
  const [first] = entries;
  if (entries.length !== 1 || first === undefined) {
    const found = entries.length === 0 ? "none" : entries.map(([k]) => k).join(", ");
    throw validationError(
      `${path} must have exactly one member of the ${what} union; found: ${found}.`,
    );
  }
  return first;
}

function requireString(value: JsonValue | undefined, path: string): string {
  if (typeof value !== "string") {
    throw validationError(`${path} must be a string, got ${jsonTypeName(value)}.`);
  }
  return value;
}

function requireNonBlankText(value: JsonValue | undefined, path: string): string {
  const text = requireString(value, path);
  if (text.trim() === "") {
    throw validationError(`text content blocks must be non-empty: ${path} is blank.`);
  }
  return text;
}

function parseImage(value: JsonValue, path: string): ImageContent {
  if (!isJsonObject(value)) throw validationError(`${path} must be an ImageBlock object.`);
  const format = value.format;
  if (!isImageFormat(format)) {
    throw validationError(`${path}.format must be one of ${IMAGE_FORMATS.join(", ")}.`);
  }
  const [member, source] = unionMember(value.source, `${path}.source`, "ImageSource");
  switch (member) {
    case "bytes": {
      const bytes = typeof source === "string" ? decodeBase64(source) : undefined;
      if (!bytes) throw validationError(`${path}.source.bytes must be base64-encoded image bytes.`);
      const detected = detectImageFormat(bytes);
      if (detected !== format) {
        throw validationError(
          `The image bytes at ${path} do not match the declared format "${format}" (detected: ${detected ?? "unknown"}).`,
        );
      }
      return { format, byteLength: bytes.length };
    }
    case "s3Location": {
      const uri = isJsonObject(source) ? source.uri : undefined;
      if (typeof uri !== "string" || !uri.startsWith("s3://")) {
        throw validationError(`${path}.source.s3Location.uri must be an s3:// URI.`);
      }
      return { format, byteLength: 0 };
    }
    default:
      throw validationError(`${path}.source must be one of bytes, s3Location; got ${member}.`);
  }
}

function parseDocument(value: JsonValue, path: string): { byteLength: number; text: string } {
  if (!isJsonObject(value)) throw validationError(`${path} must be a DocumentBlock object.`);
  if (typeof value.format === "string" && !DOCUMENT_FORMATS.has(value.format)) {
    throw validationError(`${path}.format must be one of ${[...DOCUMENT_FORMATS].join(", ")}.`);
  }
  if (typeof value.name !== "string" || value.name.trim() === "") {
    throw validationError(`${path}.name must be a non-empty string.`);
  }
  const [member, source] = unionMember(value.source, `${path}.source`, "DocumentSource");
  switch (member) {
    case "bytes": {
      const bytes = typeof source === "string" ? decodeBase64(source) : undefined;
      if (!bytes) throw validationError(`${path}.source.bytes must be base64-encoded bytes.`);
      return { byteLength: bytes.length, text: "" };
    }
    case "text":
      return { byteLength: 0, text: requireNonBlankText(source, `${path}.source.text`) };
    case "content":
    case "s3Location":
      return { byteLength: 0, text: "" };
    default:
      throw validationError(`${path}.source has an unknown member ${member}.`);
  }
}

function parseToolResultItem(value: JsonValue, path: string): ToolResultItem {
  const [member, inner] = unionMember(value, path, "ToolResultContentBlock");
  switch (member) {
    case "text":
      return { type: "text", text: requireString(inner, `${path}.text`) };
    case "json":
      return { type: "json", json: inner };
    case "image":
      return { type: "image", image: parseImage(inner, `${path}.image`) };
    case "document":
      return { type: "document", ...parseDocument(inner, `${path}.document`) };
    default:
      throw validationError(
        `${path} has an unsupported ToolResultContentBlock member ${member}; use text, json, image or document.`,
      );
  }
}

function parseContentBlock(value: JsonValue, path: string, role: Message["role"]): ContentBlock {
  const [member, inner] = unionMember(value, path, "ContentBlock");
  switch (member) {
    case "text":
      return { type: "text", text: requireNonBlankText(inner, `${path}.text`) };
    case "image":
      return { type: "image", image: parseImage(inner, `${path}.image`) };
    case "document":
      return { type: "document", ...parseDocument(inner, `${path}.document`) };
    case "toolUse": {
      if (role !== "assistant") {
        throw validationError(`${path}: toolUse blocks are only allowed in assistant messages.`);
      }
      if (!isJsonObject(inner)) throw validationError(`${path}.toolUse must be an object.`);
      const toolUseId = requireString(inner.toolUseId, `${path}.toolUse.toolUseId`);
      const name = requireString(inner.name, `${path}.toolUse.name`);
      if (toolUseId === "") throw validationError(`${path}.toolUse.toolUseId must not be empty.`);
      if (!TOOL_NAME.test(name)) {
        throw validationError(`${path}.toolUse.name must match ${TOOL_NAME.source}.`);
      }
      if (inner.input === undefined) throw validationError(`${path}.toolUse.input is required.`);
      return { type: "toolUse", toolUseId, name, input: inner.input };
    }
    case "toolResult": {
      if (role !== "user") {
        throw validationError(`${path}: toolResult blocks are only allowed in user messages.`);
      }
      if (!isJsonObject(inner)) throw validationError(`${path}.toolResult must be an object.`);
      const toolUseId = requireString(inner.toolUseId, `${path}.toolResult.toolUseId`);
      if (!Array.isArray(inner.content)) {
        throw validationError(`${path}.toolResult.content must be an array.`);
      }
      const content = inner.content.map((item, i) =>
        parseToolResultItem(item, `${path}.toolResult.content.${i}`),
      );
      const status = inner.status;
      if (status !== undefined && status !== "success" && status !== "error") {
        throw validationError(`${path}.toolResult.status must be "success" or "error".`);
      }
      if (status === "error" && content.length === 0) {
        throw validationError(
          `${path}.toolResult with status "error" must have non-empty content.`,
        );
      }
      return { type: "toolResult", toolUseId, content, status };
    }
    default:
      if (!OPAQUE_CONTENT_MEMBERS.has(member)) {
        throw validationError(`${path} has an unknown ContentBlock member ${member}.`);
      }
      if (!isJsonObject(inner)) throw validationError(`${path}.${member} must be an object.`);
      return { type: "opaque", member };
  }
}

function parseMessages(value: JsonValue | undefined): Message[] {
  if (!Array.isArray(value)) {
    throw validationError("messages must be an array of Message objects.");
  }
  if (value.length === 0) {
    throw validationError(
      "A conversation must start with a user message. messages must contain at least one message.",
    );
  }
  const messages = value.map((raw, i): Message => {
    const path = `messages.${i}`;
    if (!isJsonObject(raw)) throw validationError(`${path} must be a Message object.`);
    const role = raw.role;
    if (role !== "user" && role !== "assistant") {
      throw validationError(`${path}.role must be "user" or "assistant".`);
    }
    if (!Array.isArray(raw.content) || raw.content.length === 0) {
      throw validationError(
        `The content field in the Message object at ${path} is empty. Add a ContentBlock object to the content field and try again.`,
      );
    }
    const content = raw.content.map((block, j) =>
      parseContentBlock(block, `${path}.content.${j}`, role),
    );
    return { role, content };
  });
  if (messages[0]?.role !== "user") {
    throw validationError(
      "A conversation must start with a user message. Try again with a conversation that starts with a user message.",
    );
  }
  messages.forEach((message, i) => {
    if (i > 0 && messages[i - 1]?.role === message.role) {
      throw validationError(
        `A conversation must alternate between user and assistant roles (messages.${i - 1} and messages.${i} are both "${message.role}"). Make sure the conversation alternates between user and assistant roles and try again.`,
      );
    }
  });
  return messages;
}

function parseSystem(value: JsonValue | undefined): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw validationError("system must be an array of SystemContentBlock.");
  const texts: string[] = [];
  value.forEach((raw, i) => {
    const path = `system.${i}`;
    const [member, inner] = unionMember(raw, path, "SystemContentBlock");
    switch (member) {
      case "text":
        texts.push(requireNonBlankText(inner, `${path}.text`));
        break;
      case "guardContent":
      case "cachePoint":
        break;
      default:
        throw validationError(`${path} has an unknown SystemContentBlock member ${member}.`);
    }
  });
  return texts;
}

function parseToolSpec(value: JsonValue, path: string): ToolSpec {
  if (!isJsonObject(value)) throw validationError(`${path} must be an object.`);
  const name = requireString(value.name, `${path}.name`);
  if (!TOOL_NAME.test(name)) {
    throw validationError(
      `${path}.name "${name}" is invalid: tool names must match ${TOOL_NAME.source}.`,
    );
  }
  const description = value.description;
  if (description !== undefined && typeof description !== "string") {
    throw validationError(`${path}.description must be a string.`);
  }
  const [member, schema] = unionMember(value.inputSchema, `${path}.inputSchema`, "ToolInputSchema");
  if (member !== "json" || !isJsonObject(schema)) {
    throw validationError(`${path}.inputSchema.json must be a JSON schema object.`);
  }
  return { name, description, inputSchema: schema };
}

function parseToolConfig(value: JsonValue | undefined): {
  tools: ToolSpec[];
  toolChoice: ToolChoice;
} {
  if (!isJsonObject(value)) throw validationError("toolConfig must be an object.");
  if (!Array.isArray(value.tools) || value.tools.length === 0) {
    throw validationError("toolConfig.tools must contain at least one tool.");
  }
  const tools: ToolSpec[] = [];
  value.tools.forEach((raw, i) => {
    const path = `toolConfig.tools.${i}`;
    const [member, inner] = unionMember(raw, path, "Tool");
    switch (member) {
      case "toolSpec":
        tools.push(parseToolSpec(inner, `${path}.toolSpec`));
        break;
      case "systemTool":
      case "cachePoint":
        break;
      default:
        throw validationError(`${path} has an unknown Tool member ${member}.`);
    }
  });
  const names = new Set<string>();
  for (const tool of tools) {
    if (names.has(tool.name)) {
      throw validationError(`Tool names must be unique; "${tool.name}" is defined more than once.`);
    }
    names.add(tool.name);
  }
  let toolChoice: ToolChoice = { type: "auto" };
  if (value.toolChoice !== undefined) {
    const [member, inner] = unionMember(value.toolChoice, "toolConfig.toolChoice", "ToolChoice");
    if (!isJsonObject(inner)) {
      throw validationError(`toolConfig.toolChoice.${member} must be an object.`);
    }
    switch (member) {
      case "auto":
      case "any":
        toolChoice = { type: member };
        break;
      case "tool": {
        const name = requireString(inner.name, "toolConfig.toolChoice.tool.name");
        if (!names.has(name)) {
          throw validationError(
            `toolConfig.toolChoice.tool.name "${name}" does not match any tool in toolConfig.tools.`,
          );
        }
        toolChoice = { type: "tool", name };
        break;
      }
      default:
        throw validationError(
          `toolConfig.toolChoice must be one of {auto:{}}, {any:{}}, {tool:{name}}; got ${member}.`,
        );
    }
  }
  return { tools, toolChoice };
}

function checkToolPairing(messages: readonly Message[]): void {
  // First every toolResult must answer a toolUse of the turn before it …
  messages.forEach((message, i) => {
    if (message.role !== "user") return;
    const offered = new Set<string>();
    for (const block of messages[i - 1]?.content ?? []) {
      if (block.type === "toolUse") offered.add(block.toolUseId);
    }
    message.content.forEach((block, j) => {
      if (block.type === "toolResult" && !offered.has(block.toolUseId)) {
        throw validationError(
          `messages.${i}.content.${j}: toolResult toolUseId "${block.toolUseId}" does not match any toolUse in the preceding assistant message. Each toolResult block must have a corresponding toolUse block in the previous message.`,
        );
      }
    });
  });
  // … then every toolUse must be answered by the next turn, when there is one.
  messages.forEach((message, i) => {
    const next = messages[i + 1];
    if (message.role !== "assistant" || !next) return;
    const answered = new Set(
      next.content.flatMap((b) => (b.type === "toolResult" ? [b.toolUseId] : [])),
    );
    const missing = message.content.flatMap((b) =>
      b.type === "toolUse" && !answered.has(b.toolUseId) ? [b.toolUseId] : [],
    );
    if (missing.length > 0) {
      throw validationError(
        `Expected toolResult blocks at messages.${i + 1}.content for the following toolUse ids: ${missing.join(", ")}. Every toolUse must be answered in the next user message.`,
      );
    }
  });
}

function parseUnitInterval(value: JsonValue | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw validationError(`inferenceConfig.${name} must be a number between 0 and 1.`);
  }
  return value;
}

function parseInferenceConfig(
  value: JsonValue | undefined,
  model: EmulatedModel,
): Pick<ConverseRequest, "maxTokens" | "temperature" | "topP" | "stopSequences"> {
  if (value === undefined) {
    return {
      maxTokens: model.maxOutputTokens,
      temperature: undefined,
      topP: undefined,
      stopSequences: [],
    };
  }
  if (!isJsonObject(value)) throw validationError("inferenceConfig must be an object.");
  for (const key of Object.keys(value)) {
    if (!INFERENCE_CONFIG_MEMBERS.has(key)) {
      throw validationError(
        `inferenceConfig has an unknown member "${key}"; allowed: maxTokens, temperature, topP, stopSequences (model-specific parameters go in additionalModelRequestFields).`,
      );
    }
  }
  const maxTokens = value.maxTokens;
  if (maxTokens !== undefined) {
    if (typeof maxTokens !== "number" || !Number.isInteger(maxTokens) || maxTokens < 1) {
      throw validationError(
        `inferenceConfig.maxTokens must be an integer between 1 and ${model.maxOutputTokens}.`,
      );
    }
    if (maxTokens > model.maxOutputTokens) {
      throw validationError(
        `The maximum tokens you requested exceeds the model limit of ${model.maxOutputTokens}. Try again with a maximum tokens value that is lower than ${model.maxOutputTokens}.`,
      );
    }
  }
  const stop = value.stopSequences ?? [];
  if (!Array.isArray(stop))
    throw validationError("inferenceConfig.stopSequences must be an array.");
  if (stop.length > MAX_STOP_SEQUENCES) {
    throw validationError(
      `inferenceConfig.stopSequences can contain at most ${MAX_STOP_SEQUENCES} entries.`,
    );
  }
  const stopSequences = stop.map((s) => {
    if (typeof s !== "string" || s === "") {
      throw validationError("inferenceConfig.stopSequences must contain only non-empty strings.");
    }
    return s;
  });
  return {
    // Like Bedrock, an absent maxTokens means the model's maximum.
    maxTokens: maxTokens ?? model.maxOutputTokens,
    temperature: parseUnitInterval(value.temperature, "temperature"),
    topP: parseUnitInterval(value.topP, "topP"),
    stopSequences,
  };
}

function parseOutputConfig(value: JsonValue | undefined): JsonObject | undefined {
  if (value === undefined) return undefined;
  if (!isJsonObject(value)) throw validationError("outputConfig must be an object.");
  const format = value.textFormat;
  if (format === undefined) return undefined;
  const schemaError = validationError(
    "outputConfig.textFormat.structure.jsonSchema.schema must be a string containing a JSON schema object.",
  );
  if (!isJsonObject(format) || format.type !== "json_schema") {
    throw validationError('outputConfig.textFormat.type must be "json_schema".');
  }
  const structure = format.structure;
  const jsonSchema = isJsonObject(structure) ? structure.jsonSchema : undefined;
  const schemaText = isJsonObject(jsonSchema) ? jsonSchema.schema : undefined;
  if (typeof schemaText !== "string") throw schemaError;
  try {
    const schema: unknown = JSON.parse(schemaText);
    if (!isJsonObject(schema)) throw schemaError;
    return schema;
  } catch {
    throw schemaError;
  }
}

function oneOf<T extends string>(
  value: JsonValue | undefined,
  allowed: readonly T[],
  path: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw validationError(`${path} must be one of ${allowed.join(", ")}.`);
  }
  return value as T;
}

/**
 * `guardrailConfig`: identifier (1..2048 characters) and version (`DRAFT` or a number) required;
 * `trace` optional; `streamProcessingMode` only on ConverseStream (the SDK's Converse shape has no
 * such member, so a client sending it there has a bug).
 */
function parseGuardrailConfig(
  value: JsonValue | undefined,
  streaming: boolean,
): GuardrailConfig | undefined {
  if (value === undefined) return undefined;
  if (!isJsonObject(value)) throw validationError("guardrailConfig must be an object.");
  const members = ["guardrailIdentifier", "guardrailVersion", "trace"];
  if (streaming) members.push("streamProcessingMode");
  for (const key of Object.keys(value)) {
    if (!members.includes(key)) {
      throw validationError(
        `guardrailConfig has an unknown member "${key}"; allowed: ${members.join(", ")}.`,
      );
    }
  }
  const identifier = value.guardrailIdentifier;
  if (
    typeof identifier !== "string" ||
    identifier === "" ||
    identifier.length > MAX_GUARDRAIL_IDENTIFIER
  ) {
    throw validationError(
      `guardrailConfig.guardrailIdentifier must be a non-empty string of at most ${MAX_GUARDRAIL_IDENTIFIER} characters.`,
    );
  }
  const version = value.guardrailVersion;
  if (typeof version !== "string" || !GUARDRAIL_VERSION.test(version)) {
    throw validationError(
      'guardrailConfig.guardrailVersion must be "DRAFT" or a version number (1 to 8 digits).',
    );
  }
  return {
    identifier,
    version,
    trace: oneOf(value.trace, GUARDRAIL_TRACES, "guardrailConfig.trace"),
    streamProcessingMode: oneOf(
      value.streamProcessingMode,
      STREAM_PROCESSING_MODES,
      "guardrailConfig.streamProcessingMode",
    ),
  };
}

const hasImage = (messages: readonly Message[]) =>
  messages.some((m) =>
    m.content.some(
      (b) =>
        b.type === "image" ||
        (b.type === "toolResult" && b.content.some((item) => item.type === "image")),
    ),
  );

const hasToolBlocks = (messages: readonly Message[]) =>
  messages.some((m) => m.content.some((b) => b.type === "toolUse" || b.type === "toolResult"));

/** Options of {@link validateConverseRequest}. */
export interface ValidateConverseOptions {
  /** The body is a ConverseStream request (whose `guardrailConfig` has `streamProcessingMode`). */
  readonly streaming?: boolean;
}

/**
 * Validates `body` for `model` and returns the normalised request. Throws `EmulatorError`
 * (SerializationException for a non-object body, ValidationException otherwise).
 */
export function validateConverseRequest(
  body: JsonValue,
  model: EmulatedModel,
  options: ValidateConverseOptions = {},
): ConverseRequest {
  if (!isJsonObject(body)) {
    throw new EmulatorError("SerializationException", "The request body must be a JSON object.");
  }
  for (const key of Object.keys(body)) {
    if (!TOP_LEVEL_MEMBERS.has(key)) {
      throw validationError(`Unknown member "${key}" in the Converse request body.`);
    }
  }
  const messages = parseMessages(body.messages);
  const system = parseSystem(body.system);
  const hasToolConfig = body.toolConfig !== undefined;
  const { tools, toolChoice } = hasToolConfig
    ? parseToolConfig(body.toolConfig)
    : { tools: [], toolChoice: { type: "auto" } as const };

  if (hasToolBlocks(messages) && !hasToolConfig) {
    throw validationError(TOOL_CONFIG_REQUIRED_MESSAGE);
  }
  if (hasToolConfig && !model.tools) {
    throw validationError(
      `The model ${model.id} doesn't support tool use (toolConfig). Remove toolConfig or use a model that supports tool use.`,
    );
  }
  if (!model.vision && hasImage(messages)) {
    throw validationError(
      `The model ${model.id} doesn't support image content (vision). Remove image blocks or use a model that supports images.`,
    );
  }
  if (!model.systemPrompt && system.length > 0) {
    throw validationError(
      `The model ${model.id} doesn't support system messages (system prompt). Remove the system field or use a model that supports system messages.`,
    );
  }
  checkToolPairing(messages);

  const inference = parseInferenceConfig(body.inferenceConfig, model);
  const jsonSchema = parseOutputConfig(body.outputConfig);
  if (jsonSchema !== undefined && !model.structuredOutput) {
    throw validationError(
      `The model ${model.id} doesn't support structured output (outputConfig.textFormat).`,
    );
  }

  const request: ConverseRequest = {
    messages,
    system,
    ...inference,
    hasToolConfig,
    tools,
    toolChoice,
    jsonSchema,
    guardrail: parseGuardrailConfig(body.guardrailConfig, options.streaming ?? false),
  };
  if (countInputTokens(request) > model.contextWindow) {
    throw validationError(INPUT_TOO_LONG_MESSAGE);
  }
  return request;
}
