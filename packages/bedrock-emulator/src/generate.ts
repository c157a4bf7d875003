/**
 * Deterministic reply generation: the same request always yields the same assistant turn, so
 * tests can assert exact text, tool calls, stop reasons and token counts. The rules are listed in
 * the package README ("Deterministic replies"); this module is pure.
 */
import { createHash } from "node:crypto";
import type {
  ConverseReply,
  ConverseRequest,
  JsonValue,
  Message,
  ReplyBlock,
  StopReason,
  ToolResultItem,
  Usage,
} from "./converse-types.ts";
import type { Directives } from "./directives.ts";
import { validationError } from "./emulator-error.ts";
import { jsonSchemaInstance } from "./json-schema-instance.ts";
import { countInputTokens, jsonTokens } from "./tokens.ts";

/** Prefix of the default reply; the rest echoes the last user text. */
export const REPLY_PREFIX = "Emulated reply to:";
/** Prefix of the reply to a turn that carries tool results. */
export const TOOL_RESULTS_PREFIX = "Tool results received:";
/** Text block emitted before tool calls when toolChoice is auto. */
export const CALLING_TOOLS_TEXT = "Calling tools.";
/** Text of a guardrail intervention (`[[emulator:guardrail]]`, or the blocked topic below). */
export const GUARDRAIL_TEXT = "Sorry, the model cannot answer this question.";
/**
 * The built-in denied topic: a request with `guardrailConfig` whose last user text contains this
 * word (whole word, case-sensitive) gets the guardrail intervention, as a real guardrail with a
 * denied topic would, without any directive.
 */
export const GUARDRAIL_BLOCKED_WORD = "BLOCKED-TOPIC";
const BLOCKED_WORD = /(?<![\w-])BLOCKED-TOPIC(?![\w-])/;
/** Words cycled by `[[emulator:tokens=N]]`. */
export const FILLER_WORDS = [
  "lorem",
  "ipsum",
  "dolor",
  "sit",
  "amet",
  "consectetur",
  "adipiscing",
  "elit",
  "sed",
  "do",
  "eiusmod",
  "tempor",
  "incididunt",
  "ut",
  "labore",
  "et",
  "dolore",
  "magna",
  "aliqua",
] as const;

/** What generation needs besides the validated request. */
export interface GenerateInput {
  readonly request: ConverseRequest;
  readonly directives: Directives;
  /** Text blocks of the last user message, directives removed. */
  readonly lastUserTexts: readonly string[];
  /** Stable per-request seed (the raw request body) for tool-use ids. */
  readonly seed: string;
}

/** Collapses whitespace runs to one space and trims. */
export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** Words of a generated text; each word is one output token. */
export function wordsOf(text: string): string[] {
  return text === "" ? [] : text.split(" ");
}

/** `tooluse_` + 22 url-safe characters derived from the request and the call's position. */
export function toolUseIdFor(seed: string, index: number): string {
  const digest = createHash("sha256").update(`${seed}\u0000${index}`).digest("base64url");
  return `tooluse_${digest.slice(0, 22)}`;
}

function lastUserMessage(messages: readonly Message[]): Message | undefined {
  return messages.findLast((m) => m.role === "user");
}

function toolResultItemText(item: ToolResultItem): string {
  switch (item.type) {
    case "text":
      return item.text;
    case "json":
      return JSON.stringify(item.json);
    case "image":
      return "[image]";
    case "document":
      return item.text !== "" ? item.text : "[document]";
    default: {
      const exhaustive: never = item;
      return exhaustive;
    }
  }
}

function toolNamesToCall(request: ConverseRequest, directives: Directives): string[] {
  if (request.tools.length === 0) return [];
  const offered = request.tools.map((t) => t.name);
  for (const name of directives.tools) {
    if (!offered.includes(name)) {
      throw validationError(
        `[[emulator:tool=${name}]] names a tool that is not in toolConfig.tools (offered: ${offered.join(", ")}).`,
      );
    }
  }
  const choice = request.toolChoice;
  switch (choice.type) {
    case "tool":
      return [choice.name];
    case "any":
      return directives.tools.length > 0 ? [...directives.tools] : offered.slice(0, 1);
    case "auto":
      return [...directives.tools];
    default: {
      const exhaustive: never = choice;
      return exhaustive;
    }
  }
}

function replyText(input: GenerateInput): string {
  const { request, directives } = input;
  if (directives.tokens !== undefined) {
    // One word past maxTokens is enough for the limit to report max_tokens.
    const length = Math.min(directives.tokens, (request.maxTokens ?? Number.POSITIVE_INFINITY) + 1);
    return Array.from({ length }, (_, i) => FILLER_WORDS[i % FILLER_WORDS.length]).join(" ");
  }
  const lastUser = lastUserMessage(request.messages);
  const results = (lastUser?.content ?? []).flatMap((b) =>
    b.type === "toolResult" ? b.content.map(toolResultItemText) : [],
  );
  if (lastUser?.content.some((b) => b.type === "toolResult")) {
    return collapseWhitespace(`${TOOL_RESULTS_PREFIX} ${results.join(" ")}`);
  }
  if (request.jsonSchema !== undefined)
    return JSON.stringify(jsonSchemaInstance(request.jsonSchema));
  const echoed = collapseWhitespace(input.lastUserTexts.join(" "));
  const sentence = collapseWhitespace(`${REPLY_PREFIX} ${echoed}`);
  const asksForJson = /\bJSON\b/.test([...request.system, echoed].join(" "));
  return asksForJson ? JSON.stringify({ reply: sentence }) : sentence;
}

/**
 * Whether the guardrail intervenes: `[[emulator:guardrail]]` (with or without `guardrailConfig`,
 * as before guardrails were validated), or a configured guardrail and the blocked word.
 */
function guardrailIntervenes(input: GenerateInput): boolean {
  if (input.directives.guardrail) return true;
  return (
    input.request.guardrail !== undefined &&
    input.lastUserTexts.some((text) => BLOCKED_WORD.test(text))
  );
}

function draftReply(input: GenerateInput): { blocks: ReplyBlock[]; stopReason: StopReason } {
  const { request, directives } = input;
  if (guardrailIntervenes(input)) {
    return {
      blocks: [{ type: "text", text: GUARDRAIL_TEXT }],
      stopReason: "guardrail_intervened",
    };
  }
  const toolNames = toolNamesToCall(request, directives);
  if (toolNames.length > 0) {
    const calls = toolNames.map((name, i): ReplyBlock => {
      const spec = request.tools.find((t) => t.name === name);
      return {
        type: "toolUse",
        toolUseId: toolUseIdFor(input.seed, i),
        name,
        input: jsonSchemaInstance(spec?.inputSchema ?? { type: "object" }),
      };
    });
    const preface: ReplyBlock[] =
      request.toolChoice.type === "auto" ? [{ type: "text", text: CALLING_TOOLS_TEXT }] : [];
    return { blocks: [...preface, ...calls], stopReason: "tool_use" };
  }
  const text = replyText(input);
  return { blocks: text === "" ? [] : [{ type: "text", text }], stopReason: "end_turn" };
}

function firstStopSequenceIndex(text: string, stopSequences: readonly string[]): number {
  let first = -1;
  for (const sequence of stopSequences) {
    const index = text.indexOf(sequence);
    if (index >= 0 && (first < 0 || index < first)) first = index;
  }
  return first;
}

/** Token cost of a reply block: one per word of text, ceil(JSON length / 4) per tool call. */
export function replyBlockTokens(block: ReplyBlock): number {
  switch (block.type) {
    case "text":
      return wordsOf(block.text).length;
    case "toolUse":
      return jsonTokens(block.input);
    default: {
      const exhaustive: never = block;
      return exhaustive;
    }
  }
}

/**
 * Cuts the draft at the first stop sequence (text before it, trailing space trimmed) and at
 * `maxTokens` output tokens (whole words; a tool call is kept only if it fits entirely).
 */
function applyLimits(
  blocks: readonly ReplyBlock[],
  stopSequences: readonly string[],
  maxTokens: number | undefined,
): { blocks: ReplyBlock[]; limit: "stop_sequence" | "max_tokens" | undefined } {
  const out: ReplyBlock[] = [];
  let budget = maxTokens ?? Number.POSITIVE_INFINITY;
  for (const block of blocks) {
    switch (block.type) {
      case "text": {
        const stopAt = firstStopSequenceIndex(block.text, stopSequences);
        const text = stopAt >= 0 ? block.text.slice(0, stopAt).trimEnd() : block.text;
        const words = wordsOf(text);
        if (words.length > budget) {
          const kept = words.slice(0, budget).join(" ");
          if (kept !== "") out.push({ type: "text", text: kept });
          return { blocks: out, limit: "max_tokens" };
        }
        budget -= words.length;
        if (text !== "") out.push({ type: "text", text });
        if (stopAt >= 0) return { blocks: out, limit: "stop_sequence" };
        break;
      }
      case "toolUse": {
        const cost = replyBlockTokens(block);
        if (cost > budget) return { blocks: out, limit: "max_tokens" };
        budget -= cost;
        out.push(block);
        break;
      }
      default: {
        const exhaustive: never = block;
        return exhaustive;
      }
    }
  }
  return { blocks: out, limit: undefined };
}

function usageFor(
  request: ConverseRequest,
  blocks: readonly ReplyBlock[],
  cached: number | undefined,
): Usage {
  const computedInput = countInputTokens(request);
  const outputTokens = blocks.reduce((sum, b) => sum + replyBlockTokens(b), 0);
  if (cached === undefined) {
    return { inputTokens: computedInput, outputTokens, totalTokens: computedInput + outputTokens };
  }
  const inputTokens = Math.max(0, computedInput - cached);
  return {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens + cached,
    cacheReadInputTokens: cached,
    cacheWriteInputTokens: 0,
  };
}

/** Generates the assistant turn for a validated request (rules in the package README). */
export function generateConverseReply(input: GenerateInput): ConverseReply {
  const draft = draftReply(input);
  const limited =
    draft.stopReason === "guardrail_intervened"
      ? { blocks: draft.blocks, limit: undefined }
      : applyLimits(draft.blocks, input.request.stopSequences, input.request.maxTokens);
  const stopReason = input.directives.stopReason ?? limited.limit ?? draft.stopReason;
  return {
    content: limited.blocks,
    stopReason,
    usage: usageFor(input.request, limited.blocks, input.directives.cached),
  };
}

/** Converse wire form of a reply block. */
export function replyBlockToWire(block: ReplyBlock): Record<string, JsonValue> {
  switch (block.type) {
    case "text":
      return { text: block.text };
    case "toolUse":
      return { toolUse: { toolUseId: block.toolUseId, name: block.name, input: block.input } };
    default: {
      const exhaustive: never = block;
      return exhaustive;
    }
  }
}

/** The Converse response body (docs/wire-formats.md#converse-response). */
export function converseResponseBody(reply: ConverseReply, latencyMs: number): JsonValue {
  return {
    output: { message: { role: "assistant", content: reply.content.map(replyBlockToWire) } },
    stopReason: reply.stopReason,
    usage: { ...reply.usage },
    metrics: { latencyMs },
  };
}
