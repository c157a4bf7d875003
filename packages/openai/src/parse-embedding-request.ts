import { invalidRequest, StrataError } from "@strata/errors";
import { z } from "zod";
import type { EmbeddingRequest } from "./embedding.ts";
import { checkJsonDepth, isObject } from "./json-depth.ts";
import {
  maxEmbeddingInputLength,
  maxEmbeddingInputs,
  maxModelLength,
  maxTextLength,
} from "./limits.ts";
import {
  aboveMaximum,
  arrayTooLong,
  belowMinimum,
  emptyArray,
  emptyString,
  invalidType,
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
 * Validates a `POST /v1/embeddings` body like OpenAI (same messages and `param`s), refusing token
 * arrays, which need the model's own tokenizer. Throws only StrataError (`invalid_request`).
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
      input: typeof input === "string" ? checkText(input, "input") : checkTexts(input),
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

function checkTexts(inputs: unknown[]): string[] {
  if (inputs.length === 0) throw emptyArray("input");
  if (inputs.length > maxEmbeddingInputs) {
    throw arrayTooLong("input", maxEmbeddingInputs, inputs.length);
  }
  if (inputs.every((item) => typeof item === "number" || Array.isArray(item))) {
    throw invalidRequest(
      "input",
      "Invalid 'input': token arrays are not supported by this gateway; send the input as text (a string or an array of strings).",
      "unsupported_value",
    );
  }
  for (const [i, item] of inputs.entries()) {
    if (typeof item !== "string") throw invalidType(`input[${i}]`, "a string", item);
    checkText(item, `input[${i}]`);
  }
  return inputs as string[];
}
