import { invalidRequest, StrataError } from "@strata/errors";
import { z } from "zod";
import type { EmbeddingRequest } from "./embedding.ts";
import { decodeTokens, isToken, type TokenEncoding } from "./embedding-tokens.ts";
import { checkJsonDepth, isObject } from "./json-depth.ts";
import {
  maxEmbeddingInputLength,
  maxEmbeddingInputs,
  maxEmbeddingInputTokens,
  maxModelLength,
  maxTextLength,
} from "./limits.ts";
import {
  aboveMaximum,
  arrayTooLong,
  belowMinimum,
  describeValue,
  emptyArray,
  emptyString,
  invalidType,
  invalidValue,
  stringTooLong,
} from "./openai-error-messages.ts";
import { zodIssueToStrataError } from "./zod-issue.ts";

const maxDimensions = 4_294_967_295;

const embeddingRequestSchema = z.looseObject({
  model: z.string().min(1).max(maxModelLength),
  input: z.union([z.string(), z.array(z.unknown())]),
  encoding_format: z.enum(["float", "base64"]).nullable().optional(),
  dimensions: z.int().nullable().optional(),
  user: z.string().max(maxTextLength).nullable().optional(),
});

/**
 * Validates a `POST /v1/embeddings` body like OpenAI (same messages and `param`s). `input` is a
 * string, an array of strings, an array of token ids or an array of such arrays; token ids are
 * decoded to text (see `decodeTokenInput`), so the request that comes out always holds text.
 * Throws only StrataError (`invalid_request`).
 *
 * Spec: openai-openapi `CreateEmbeddingRequest`; docs/wire-formats.md#embeddings.
 */
export function parseEmbeddingRequest(body: unknown): EmbeddingRequest {
  try {
    // First, so nothing below walks an absurdly deep value; a body that is not an object at all
    // gets the schema's "must be a JSON object" instead.
    const tooDeep = isObject(body) ? checkJsonDepth(body) : undefined;
    if (tooDeep) throw tooDeep;
    const result = embeddingRequestSchema.safeParse(body);
    if (!result.success) {
      const [issue] = result.error.issues;
      throw issue ? zodIssueToStrataError(issue, body) : invalidRequest(undefined, "Invalid body.");
    }
    const { model, input, encoding_format, dimensions, user } = result.data;
    if (dimensions != null) {
      if (dimensions < 1) throw belowMinimum("dimensions", "integer", 1, dimensions);
      if (dimensions > maxDimensions) {
        throw aboveMaximum("dimensions", "integer", maxDimensions, dimensions);
      }
    }
    return {
      model,
      input: typeof input === "string" ? checkText(input, "input") : checkInputs(input),
      encoding_format: encoding_format ?? "float",
      dimensions: dimensions ?? undefined,
      user: user ?? undefined,
    };
  } catch (error) {
    if (error instanceof StrataError) throw error;
    throw new StrataError("internal", undefined, { cause: error });
  }
}

function checkText(text: string, param: string): string {
  if (text.length === 0) throw emptyString(param);
  if (text.length > maxEmbeddingInputLength) {
    throw stringTooLong(param, maxEmbeddingInputLength, text.length);
  }
  return text;
}

/** An array `input`: texts, or token ids (one array, or arrays), decoded to texts. */
function checkInputs(inputs: unknown[]): string | string[] {
  if (inputs.length === 0) throw emptyArray("input");
  if (inputs.every((item) => typeof item === "number")) {
    return decodeTokenInput([inputs as number[]], () => "input")[0] as string;
  }
  if (inputs.length > maxEmbeddingInputs) {
    throw arrayTooLong("input", maxEmbeddingInputs, inputs.length);
  }
  if (inputs.every(Array.isArray)) {
    return decodeTokenInput(inputs as unknown[][], (i) => `input[${i}]`);
  }
  const tokenLike = inputs.findIndex((item) => typeof item === "number" || Array.isArray(item));
  if (tokenLike >= 0) throw mixedInput(inputs, tokenLike);
  for (const [i, item] of inputs.entries()) {
    if (typeof item !== "string") throw invalidType(`input[${i}]`, "a string", item);
    checkText(item, `input[${i}]`);
  }
  return inputs as string[];
}

/**
 * Token arrays, each one input, decoded to their texts. `param(i)` names array `i` (`input` for
 * a single flat array, else `input[i]`), and `param(i)[j]` its id `j`. The whole request is decoded
 * with one encoding: cl100k_base (OpenAI's embedding models' encoding, and what LangChain falls
 * back to for a model tiktoken does not know) when every id is one of its tokens, else o200k_base;
 * an id neither has is refused. Limits as for text: at most `maxEmbeddingInputTokens` ids per
 * array, and the decoded text at most `maxEmbeddingInputLength` characters.
 */
function decodeTokenInput(arrays: unknown[][], param: (i: number) => string): string[] {
  for (const [i, ids] of arrays.entries()) {
    if (ids.length === 0) throw emptyArray(param(i));
    if (ids.length > maxEmbeddingInputTokens) {
      throw arrayTooLong(param(i), maxEmbeddingInputTokens, ids.length);
    }
    for (const [j, id] of ids.entries()) {
      if (typeof id !== "number" || !Number.isInteger(id)) {
        throw invalidType(`${param(i)}[${j}]`, "an integer", id);
      }
      if (id < 0) throw belowMinimum(`${param(i)}[${j}]`, "integer", 0, id);
    }
  }
  const tokens = arrays as number[][];
  const encoding: TokenEncoding = tokens.every((ids) =>
    ids.every((id) => isToken("cl100k_base", id)),
  )
    ? "cl100k_base"
    : "o200k_base";
  if (encoding === "o200k_base") {
    for (const [i, ids] of tokens.entries()) {
      const j = ids.findIndex((id) => !isToken("o200k_base", id));
      if (j >= 0) {
        throw invalidValue(
          `${param(i)}[${j}]`,
          `${ids[j]} is not a token id of cl100k_base or o200k_base, the encodings this gateway decodes token arrays with.`,
        );
      }
    }
  }
  return tokens.map((ids, i) => {
    const text = decodeTokens(encoding, ids);
    if (text.length > maxEmbeddingInputLength) {
      throw invalidValue(
        param(i),
        `the tokens decode (${encoding}) to a string too long. Expected a string with maximum length ${maxEmbeddingInputLength}, but got a string with length ${text.length} instead.`,
        "string_above_max_length",
      );
    }
    return text;
  });
}

/**
 * An array mixing token ids or token arrays with something else: OpenAI takes a list of strings,
 * of integers or of integer arrays, never a mix. Names `input`, the two kinds and where they are.
 */
function mixedInput(inputs: unknown[], tokenLike: number): StrataError {
  const kind = (item: unknown) => (Array.isArray(item) ? "array" : typeof item);
  const other = inputs.findIndex((item) => kind(item) !== kind(inputs[tokenLike]));
  const [first, second] = [tokenLike, other].sort((a, b) => a - b) as [number, number];
  return invalidRequest(
    "input",
    `Invalid type for 'input': expected a string, an array of strings, an array of integers, or an array of arrays of integers, but got an array mixing ${describeValue(inputs[first])} (input[${first}]) and ${describeValue(inputs[second])} (input[${second}]) instead.`,
    "invalid_type",
  );
}
