import { createRequire } from "node:module";
import type { TiktokenBPE } from "js-tiktoken/lite";

// Token ids of OpenAI's encodings, decoded back to text: OpenAI's /v1/embeddings accepts token
// arrays (LangChain's OpenAIEmbeddings sends them by default), Bedrock's models take only text.
//
// The vocabularies come from js-tiktoken's rank files (`js-tiktoken/ranks/*`, the TiktokenBPE
// shape). Its Tiktoken class also builds the tables for encoding, which decoding does not need:
// about 0.4 s and 75 MB of heap for cl100k_base, 1.1 s and 75 MB more for o200k_base, once per
// process. Decoding only needs each id's bytes, so this keeps one byte table per encoding
// (about 70 ms and 3 MB for cl100k_base, 130 ms and 5 MB for o200k_base, rank file included),
// built the first time a token array needs it: a gateway that only ever sees text loads neither.

/** The encodings token arrays are decoded with. */
export type TokenEncoding = "cl100k_base" | "o200k_base";

interface Vocabulary {
  /** The bytes of every token, back to back, in id order. */
  bytes: Uint8Array;
  /** Token `id` is `bytes[start[id]]` up to `bytes[start[id + 1]]`; an id without bytes is none. */
  start: Uint32Array;
}

const require = createRequire(import.meta.url);
const vocabularies = new Map<TokenEncoding, Vocabulary>();
// Not fatal: an array cut inside a character (LangChain splits long texts into chunks of tokens)
// decodes to U+FFFD there, as tiktoken's own decode does. `ignoreBOM`: a leading U+FEFF token is
// text like any other. Each call decodes one whole array, so no state carries over between calls.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

function ranksOf(encoding: TokenEncoding): TiktokenBPE {
  // Static specifiers, one per encoding, so the files the gateway may load are plain to see.
  return encoding === "cl100k_base"
    ? (require("js-tiktoken/ranks/cl100k_base") as TiktokenBPE)
    : (require("js-tiktoken/ranks/o200k_base") as TiktokenBPE);
}

/**
 * The byte table of `ranks`: `bpe_ranks` holds lines `! <first id> <base64 token>...` (ids
 * counting up from the first), `special_tokens` maps each special token's text to its id.
 */
function buildVocabulary(ranks: TiktokenBPE): Vocabulary {
  const base64: string[] = [];
  for (const line of ranks.bpe_ranks.split("\n")) {
    const [, first, ...tokens] = line.split(" ");
    if (first === undefined) continue;
    let id = Number(first);
    for (const token of tokens) base64[id++] = token;
  }
  const special = new Map(Object.entries(ranks.special_tokens).map(([text, id]) => [id, text]));
  const count = Math.max(base64.length, ...special.keys()) + 1;
  let bound = 0;
  for (const token of base64) bound += token ? Math.ceil(token.length / 4) * 3 : 0;
  for (const text of special.values()) bound += Buffer.byteLength(text);
  const bytes = Buffer.alloc(bound);
  const start = new Uint32Array(count + 1);
  let size = 0;
  for (let id = 0; id < count; id++) {
    start[id] = size;
    const token = base64[id];
    const text = token === undefined ? special.get(id) : undefined;
    if (token !== undefined) size += bytes.write(token, size, "base64");
    else if (text !== undefined) size += bytes.write(text, size, "utf8");
  }
  start[count] = size;
  return { bytes: new Uint8Array(bytes.subarray(0, size)), start };
}

function vocabulary(encoding: TokenEncoding): Vocabulary {
  let found = vocabularies.get(encoding);
  if (!found) {
    found = buildVocabulary(ranksOf(encoding));
    vocabularies.set(encoding, found);
  }
  return found;
}

/** Whether `id` (any number) is a token of `encoding`, special tokens included. */
export function isToken(encoding: TokenEncoding, id: number): boolean {
  if (!Number.isInteger(id) || id < 0) return false;
  const { start } = vocabulary(encoding);
  return id < start.length - 1 && (start[id + 1] ?? 0) > (start[id] ?? 0);
}

/**
 * The text of `ids`, all tokens of `encoding` (check with `isToken`; others would be skipped).
 * Special tokens decode to their text (`<|endoftext|>`), as with tiktoken.
 */
export function decodeTokens(encoding: TokenEncoding, ids: readonly number[]): string {
  const { bytes, start } = vocabulary(encoding);
  const spans: [number, number][] = [];
  let size = 0;
  for (const id of ids) {
    const from = start[id];
    const to = start[id + 1];
    if (from === undefined || to === undefined) continue;
    spans.push([from, to]);
    size += to - from;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const [from, to] of spans) {
    out.set(bytes.subarray(from, to), at);
    at += to - from;
  }
  return utf8.decode(out);
}
