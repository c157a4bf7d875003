/**
 * The emulator's token rule. Real tokenizers differ per model; tests need a rule they can compute
 * by hand, so the emulator uses one fixed rule for every model (documented in the README):
 * a piece of text costs ceil(characters / 4) tokens (characters = Unicode code points), an image
 * costs 85 tokens, and a request costs at least 1 token.
 */
import type { ContentBlock, ConverseRequest, JsonValue, ToolResultItem } from "./converse-types.ts";

/** Tokens charged per image block (wherever it appears). */
export const IMAGE_TOKENS = 85;

/** ceil(code points / 4) — the cost of one piece of text. */
export function textTokens(text: string): number {
  let codePoints = 0;
  for (const _ of text) codePoints++;
  return Math.ceil(codePoints / 4);
}

/** The cost of a JSON value: its compact serialisation as text. */
export function jsonTokens(value: JsonValue): number {
  return textTokens(JSON.stringify(value));
}

function toolResultItemTokens(item: ToolResultItem): number {
  switch (item.type) {
    case "text":
      return textTokens(item.text);
    case "json":
      return jsonTokens(item.json);
    case "image":
      return IMAGE_TOKENS;
    case "document":
      return documentTokens(item);
    default: {
      const exhaustive: never = item;
      return exhaustive;
    }
  }
}

function documentTokens(doc: { byteLength: number; text: string }): number {
  return doc.text !== "" ? textTokens(doc.text) : Math.ceil(doc.byteLength / 4);
}

function blockTokens(block: ContentBlock): number {
  switch (block.type) {
    case "text":
      return textTokens(block.text);
    case "image":
      return IMAGE_TOKENS;
    case "document":
      return documentTokens(block);
    case "toolUse":
      return textTokens(block.name) + jsonTokens(block.input);
    case "toolResult":
      return block.content.reduce((sum, item) => sum + toolResultItemTokens(item), 0);
    case "opaque":
      return 0;
    default: {
      const exhaustive: never = block;
      return exhaustive;
    }
  }
}

/**
 * Input tokens of a Converse request: every system text, every message block, and every tool
 * spec (name, description and compact JSON schema, each counted as a piece of text); minimum 1.
 */
export function countInputTokens(request: ConverseRequest): number {
  let total = 0;
  for (const text of request.system) total += textTokens(text);
  for (const message of request.messages) {
    for (const block of message.content) total += blockTokens(block);
  }
  for (const tool of request.tools) {
    total += textTokens(tool.name) + textTokens(tool.description ?? "");
    total += jsonTokens(tool.inputSchema);
  }
  return Math.max(1, total);
}
