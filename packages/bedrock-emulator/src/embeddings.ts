/**
 * InvokeModel for embedding models: Titan Text Embeddings V2 and G1, Cohere Embed v3 (request and
 * response bodies per docs/wire-formats.md#invokemodel-for-embeddings). Bodies are validated with
 * Bedrock's "Malformed input request: #…" messages; vectors are deterministic (see
 * deterministic-vector.ts).
 */
import { randomUUID } from "node:crypto";
import type { JsonObject, JsonValue } from "./converse-types.ts";
import { deterministicVector } from "./deterministic-vector.ts";
import { validationError } from "./emulator-error.ts";
import { isJsonObject, jsonTypeName } from "./json-body.ts";
import type { EmulatedModel } from "./models.ts";
import { textTokens } from "./tokens.ts";

/** Titan v2 output sizes. */
export const TITAN_V2_DIMENSIONS = [1024, 512, 256] as const;
/** Cohere `input_type` values the emulator accepts (text inputs only). */
export const COHERE_INPUT_TYPES = [
  "search_document",
  "search_query",
  "classification",
  "clustering",
] as const;
/** Cohere `embedding_types` values. */
export const COHERE_EMBEDDING_TYPES = ["float", "int8", "uint8", "binary", "ubinary"] as const;
/** Most texts per Cohere request. */
export const COHERE_MAX_TEXTS = 96;
/** Longest Cohere text, in characters. */
export const COHERE_MAX_TEXT_LENGTH = 2048;

type TitanEmbeddingType = "float" | "binary";
type CohereEmbeddingType = (typeof COHERE_EMBEDDING_TYPES)[number];

/** A validated embedding request, by model family. */
export type EmbeddingRequest =
  | {
      readonly family: "titan-embed-v2";
      readonly inputText: string;
      readonly dimensions: number;
      readonly normalize: boolean;
      readonly embeddingTypes: readonly TitanEmbeddingType[];
    }
  | { readonly family: "titan-embed-v1"; readonly inputText: string }
  | {
      readonly family: "cohere-embed-v3";
      readonly texts: readonly string[];
      readonly embeddingTypes: readonly CohereEmbeddingType[] | undefined;
    };

/** The response body and the input-token count for the `X-Amzn-Bedrock-Input-Token-Count` header. */
export interface EmbeddingResult {
  readonly body: JsonObject;
  readonly inputTokens: number;
}

const malformed = (detail: string) =>
  validationError(`Malformed input request: ${detail}, please reformat your input and try again.`);

function checkKeys(
  body: JsonObject,
  allowed: readonly string[],
  required: readonly string[],
): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw malformed(`#: extraneous key [${key}] is not permitted`);
  }
  for (const key of required) {
    if (body[key] === undefined) throw malformed(`#: required key [${key}] not found`);
  }
}

const typeName = (value: JsonValue | undefined) => {
  const name = jsonTypeName(value);
  return name.charAt(0).toUpperCase() + name.slice(1);
};

function inputText(body: JsonObject): string {
  const text = body.inputText;
  if (typeof text !== "string") {
    throw malformed(`#/inputText: expected type: String, found: ${typeName(text)}`);
  }
  if (text.length === 0) throw malformed("#/inputText: expected minLength: 1, actual: 0");
  return text;
}

function enumArray<T extends string>(
  value: JsonValue | undefined,
  path: string,
  allowed: readonly T[],
): T[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    throw malformed(`#/${path}: expected type: JSONArray, found: ${typeName(value)}`);
  }
  if (value.length === 0) throw malformed(`#/${path}: expected minimum item count: 1, found: 0`);
  return value.map((item, i) => {
    const match = allowed.find((a) => a === item);
    if (match === undefined)
      throw malformed(`#/${path}/${i}: ${String(item)} is not a valid enum value`);
    return match;
  });
}

function parseTitanV2(body: JsonObject): EmbeddingRequest {
  checkKeys(body, ["inputText", "dimensions", "normalize", "embeddingTypes"], ["inputText"]);
  const text = inputText(body);
  const dimensions = body.dimensions ?? 1024;
  if (!TITAN_V2_DIMENSIONS.some((d) => d === dimensions)) {
    throw malformed(`#/dimensions: ${JSON.stringify(dimensions)} is not a valid enum value`);
  }
  const normalize = body.normalize ?? true;
  if (typeof normalize !== "boolean") {
    throw malformed(`#/normalize: expected type: Boolean, found: ${typeName(normalize)}`);
  }
  return {
    family: "titan-embed-v2",
    inputText: text,
    dimensions: Number(dimensions),
    normalize,
    embeddingTypes: enumArray(body.embeddingTypes, "embeddingTypes", [
      "float",
      "binary",
    ] as const) ?? ["float"],
  };
}

function parseCohere(body: JsonObject): EmbeddingRequest {
  checkKeys(body, ["texts", "images", "input_type", "truncate", "embedding_types"], ["input_type"]);
  if (body.images !== undefined) {
    throw validationError("Image inputs are not supported by the emulator; send texts instead.");
  }
  const texts = body.texts;
  if (!Array.isArray(texts)) {
    throw malformed(`#/texts: expected type: JSONArray, found: ${typeName(texts)}`);
  }
  if (texts.length < 1) throw malformed("#/texts: expected minimum item count: 1, found: 0");
  if (texts.length > COHERE_MAX_TEXTS) {
    throw malformed(
      `#/texts: expected maximum item count: ${COHERE_MAX_TEXTS}, found: ${texts.length}`,
    );
  }
  const strings = texts.map((t, i) => {
    if (typeof t !== "string") {
      throw malformed(`#/texts/${i}: expected type: String, found: ${typeName(t)}`);
    }
    if (t.length > COHERE_MAX_TEXT_LENGTH) {
      throw malformed(
        `#/texts/${i}: expected maxLength: ${COHERE_MAX_TEXT_LENGTH}, actual: ${t.length}`,
      );
    }
    return t;
  });
  const inputType = body.input_type;
  if (!COHERE_INPUT_TYPES.some((t) => t === inputType)) {
    throw malformed(`#/input_type: ${String(inputType)} is not a valid enum value`);
  }
  const truncate = body.truncate;
  if (truncate !== undefined && truncate !== "NONE" && truncate !== "START" && truncate !== "END") {
    throw malformed(`#/truncate: ${String(truncate)} is not a valid enum value`);
  }
  return {
    family: "cohere-embed-v3",
    texts: strings,
    embeddingTypes: enumArray(body.embedding_types, "embedding_types", COHERE_EMBEDDING_TYPES),
  };
}

/**
 * Validates an InvokeModel body for an embedding `model`. Throws ValidationException for bodies
 * Bedrock would reject (including chat-style bodies sent to an embedding model).
 */
export function parseEmbeddingRequest(model: EmulatedModel, body: JsonValue): EmbeddingRequest {
  if (!isJsonObject(body))
    throw malformed(`#: expected type: JSONObject, found: ${typeName(body)}`);
  switch (model.family) {
    case "titan-embed-v2":
      return parseTitanV2(body);
    case "titan-embed-v1":
      checkKeys(body, ["inputText"], ["inputText"]);
      return { family: "titan-embed-v1", inputText: inputText(body) };
    case "cohere-embed-v3":
      return parseCohere(body);
    case "anthropic":
    case "nova":
    case "openai":
    case "deepseek":
    case "llama":
    case "mistral":
    case "qwen":
      throw validationError(`The model ${model.id} is not an embedding model.`);
    default: {
      const exhaustive: never = model.family;
      throw validationError(`Unsupported model family ${String(exhaustive)}.`);
    }
  }
}

/** The input texts of a request (where directives are looked for). */
export function embeddingInputTexts(request: EmbeddingRequest): readonly string[] {
  switch (request.family) {
    case "titan-embed-v2":
    case "titan-embed-v1":
      return [request.inputText];
    case "cohere-embed-v3":
      return request.texts;
    default: {
      const exhaustive: never = request;
      return exhaustive;
    }
  }
}

function packBits(vector: readonly number[], signed: boolean): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < vector.length; i += 8) {
    let byte = 0;
    for (let bit = 0; bit < 8; bit++) byte = (byte << 1) | ((vector[i + bit] ?? 0) > 0 ? 1 : 0);
    bytes.push(signed ? byte - 128 : byte);
  }
  return bytes;
}

function cohereVariant(vector: readonly number[], type: CohereEmbeddingType): number[] {
  switch (type) {
    case "float":
      return [...vector];
    case "int8":
      return vector.map((v) => Math.max(-128, Math.min(127, Math.round(v * 127))));
    case "uint8":
      return vector.map((v) => Math.max(0, Math.min(255, Math.round((v + 1) * 127.5))));
    case "binary":
      return packBits(vector, true);
    case "ubinary":
      return packBits(vector, false);
    default: {
      const exhaustive: never = type;
      return exhaustive;
    }
  }
}

/**
 * Computes the embedding response. `texts` are the request's input texts with directives removed
 * (same order as {@link embeddingInputTexts}); they are what gets embedded.
 */
export function embed(
  model: EmulatedModel,
  request: EmbeddingRequest,
  texts: readonly string[],
): EmbeddingResult {
  const tokens = embeddingInputTexts(request).reduce((sum, t) => sum + textTokens(t), 0);
  const inputTokens = Math.max(1, tokens);
  if (request.family !== "cohere-embed-v3" && inputTokens > model.contextWindow) {
    throw validationError(
      `400 Bad Request: Too many input tokens. Max input tokens: ${model.contextWindow}, request input token count: ${inputTokens}`,
    );
  }
  switch (request.family) {
    case "titan-embed-v2": {
      const vector = deterministicVector(texts[0] ?? "", request.dimensions, request.normalize);
      const byType: JsonObject = {};
      for (const type of request.embeddingTypes) {
        byType[type] = type === "float" ? vector : vector.map((v) => (v > 0 ? 1 : 0));
      }
      return {
        body: { embedding: vector, inputTextTokenCount: inputTokens, embeddingsByType: byType },
        inputTokens,
      };
    }
    case "titan-embed-v1":
      return {
        body: {
          embedding: deterministicVector(texts[0] ?? "", model.dimensions ?? 1536, true),
          inputTextTokenCount: inputTokens,
        },
        inputTokens,
      };
    case "cohere-embed-v3": {
      const vectors = texts.map((t) => deterministicVector(t, model.dimensions ?? 1024, true));
      const common = { id: randomUUID(), texts: [...request.texts] };
      if (request.embeddingTypes === undefined) {
        return {
          body: { ...common, response_type: "embeddings_floats", embeddings: vectors },
          inputTokens,
        };
      }
      const embeddings: JsonObject = {};
      for (const type of request.embeddingTypes) {
        embeddings[type] = vectors.map((v) => cohereVariant(v, type));
      }
      return {
        body: {
          id: common.id,
          response_type: "embeddings_by_type",
          embeddings,
          texts: common.texts,
        },
        inputTokens,
      };
    }
    default: {
      const exhaustive: never = request;
      return exhaustive;
    }
  }
}
