import { create } from "@bufbuild/protobuf";
import { invalidRequest, StrataError } from "@strata/errors";
import { type EmbedRequest, type EmbedResponse, EmbedResponseSchema } from "@strata/proto";
import type { CatalogEntry, EmbeddingSpec } from "./catalog.ts";

/**
 * Embeddings through Bedrock InvokeModel (docs/wire-formats.md#invokemodel-for-embeddings): the
 * request becomes one model-native JSON body per call, and the answers are put back together in
 * input order.
 *
 * - Titan v2: one text per call (`{inputText, dimensions, normalize: true}`), tokens from
 *   `inputTextTokenCount`.
 * - Titan v1: one text per call, `{inputText}` only: its size is fixed.
 * - Cohere v3: up to `maxBatch` (96) texts per call with `input_type: "search_document"` (the
 *   neutral request has no input type, and indexing documents is the common use) and
 *   `truncate: "END"` (OpenAI truncates nothing but errors are worse than a clipped tail for
 *   a 512-token model). Tokens come from Bedrock's `X-Amzn-Bedrock-Input-Token-Count` header;
 *   when absent they are estimated as ceil(characters / 4) per text.
 */

/** InvokeModel calls in flight at once for one request (Titan makes one call per text). */
export const defaultEmbeddingConcurrency = 8;

/** One InvokeModel call of an embedding request. */
export interface EmbeddingCall {
  /** The model-native JSON body. */
  readonly body: Record<string, unknown>;
  /** Positions in the request's inputs of the texts this call embeds, in order. */
  readonly inputIndexes: readonly number[];
}

/** The vectors of one call, in the call's order, and the input tokens it counted. */
export interface EmbeddingCallResult {
  readonly vectors: readonly (readonly number[])[];
  readonly inputTokens: number;
}

/** What one InvokeModel call returned. */
export interface InvokeModelResult {
  readonly body: Uint8Array;
  /** `X-Amzn-Bedrock-Input-Token-Count`, when the response had it. */
  readonly inputTokenCount: number | undefined;
}

/** Calls InvokeModel once; the service binds it to the Bedrock client, tests to a fake. */
export type InvokeEmbeddingModel = (
  call: { modelId: string; body: Uint8Array },
  signal: AbortSignal,
) => Promise<InvokeModelResult>;

/** Options of {@link embed}. */
export interface EmbedOptions {
  readonly request: EmbedRequest;
  readonly entry: CatalogEntry;
  readonly invoke: InvokeEmbeddingModel;
  /** Cancels every call. */
  readonly signal: AbortSignal;
  /** Calls in flight at once; default {@link defaultEmbeddingConcurrency}. */
  readonly concurrency?: number;
}

/**
 * Validates an embedding request against the model and plans its InvokeModel calls. Pure.
 * `dimensions` 0 means the model's default (the first it lists); another value must be one the
 * model accepts (param `dimensions`).
 */
export function embedRequestToCalls(request: EmbedRequest, entry: CatalogEntry): EmbeddingCall[] {
  const spec = embeddingSpecOf(request, entry);
  if (request.inputs.length === 0) {
    throw invalidRequest("input", "input must contain at least one text.");
  }
  const dimensions = request.dimensions === 0 ? spec.dimensions[0] : request.dimensions;
  if (dimensions === undefined || !spec.dimensions.includes(dimensions)) {
    throw invalidRequest(
      "dimensions",
      `The model \`${request.model}\` supports dimensions ${spec.dimensions.join(", ")}; got ${request.dimensions}.`,
    );
  }
  const family = spec.family;
  switch (family) {
    case "titan-v2":
      return request.inputs.map((inputText, i) => ({
        body: { inputText, dimensions, normalize: true },
        inputIndexes: [i],
      }));
    case "titan-v1":
      return request.inputs.map((inputText, i) => ({ body: { inputText }, inputIndexes: [i] }));
    case "cohere-v3": {
      const calls: EmbeddingCall[] = [];
      for (let start = 0; start < request.inputs.length; start += spec.maxBatch) {
        const texts = request.inputs.slice(start, start + spec.maxBatch);
        calls.push({
          body: { texts, input_type: "search_document", truncate: "END" },
          inputIndexes: texts.map((_, k) => start + k),
        });
      }
      return calls;
    }
    default: {
      const never: never = family;
      throw new StrataError("internal", undefined, { cause: `unknown family ${String(never)}` });
    }
  }
}

/**
 * Decodes one InvokeModel answer of an embedding model into float vectors and a token count.
 * A body that does not have the expected shape is an upstream fault (`internal`). Pure.
 */
export function decodeEmbeddingResponse(
  family: EmbeddingSpec["family"],
  call: EmbeddingCall,
  result: { body: string; inputTokenCount: number | undefined },
): EmbeddingCallResult {
  let json: unknown;
  try {
    json = JSON.parse(result.body);
  } catch (error) {
    throw upstreamShape("not JSON", error);
  }
  const body = (json ?? {}) as Record<string, unknown>;
  switch (family) {
    case "titan-v2":
    case "titan-v1": {
      const vector = floats(body.embedding);
      const counted = body.inputTextTokenCount;
      const inputTokens =
        typeof counted === "number" ? counted : (result.inputTokenCount ?? estimate(call));
      return { vectors: [vector], inputTokens };
    }
    case "cohere-v3": {
      const raw = body.embeddings;
      const list = Array.isArray(raw) ? raw : (raw as { float?: unknown } | undefined)?.float;
      if (!Array.isArray(list) || list.length !== call.inputIndexes.length) {
        throw upstreamShape(`expected ${call.inputIndexes.length} embeddings`);
      }
      return {
        vectors: list.map(floats),
        inputTokens: result.inputTokenCount ?? estimate(call),
      };
    }
    default: {
      const never: never = family;
      throw upstreamShape(`unknown family ${String(never)}`);
    }
  }
}

/**
 * Runs an embedding request: plans the calls, runs them with bounded concurrency (the first
 * failure cancels the others), and assembles one embedding per input, in input order.
 */
export async function embed({
  request,
  entry,
  invoke,
  signal,
  concurrency = defaultEmbeddingConcurrency,
}: EmbedOptions): Promise<EmbedResponse> {
  const calls = embedRequestToCalls(request, entry);
  const family = embeddingSpecOf(request, entry).family;
  const vectors: (readonly number[])[] = new Array(request.inputs.length);
  let inputTokens = 0;
  const failed = new AbortController();
  const callSignal = AbortSignal.any([signal, failed.signal]);
  const decoder = new TextDecoder();
  let next = 0;
  const worker = async () => {
    while (next < calls.length && !callSignal.aborted) {
      const call = calls[next++] as EmbeddingCall;
      const result = await invoke(
        {
          modelId: entry.bedrockModelId,
          body: new TextEncoder().encode(JSON.stringify(call.body)),
        },
        callSignal,
      );
      const decoded = decodeEmbeddingResponse(family, call, {
        body: decoder.decode(result.body),
        inputTokenCount: result.inputTokenCount,
      });
      decoded.vectors.forEach((v, k) => {
        vectors[call.inputIndexes[k] as number] = v;
      });
      inputTokens += decoded.inputTokens;
    }
  };
  let firstFailure: { error: unknown } | undefined;
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, calls.length)) }, () =>
    worker().catch((error: unknown) => {
      // The others then fail with the abort: the first failure is the one to report.
      firstFailure ??= { error };
      failed.abort(error);
    }),
  );
  await Promise.all(workers);
  if (firstFailure) throw firstFailure.error;
  if (signal.aborted) throw new StrataError("cancelled", undefined, { cause: signal.reason });
  return create(EmbedResponseSchema, {
    model: entry.id,
    embeddings: vectors.map((values) => ({ values: [...values] })),
    inputTokens,
  });
}

function embeddingSpecOf(request: EmbedRequest, entry: CatalogEntry): EmbeddingSpec {
  if (entry.kind !== "embedding" || !entry.embedding) {
    throw invalidRequest(
      "model",
      `\`${request.model}\` is not an embedding model; use /v1/chat/completions with it.`,
      "model_not_supported",
    );
  }
  return entry.embedding;
}

function floats(value: unknown): number[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "number")) {
    throw upstreamShape("an embedding is not an array of numbers");
  }
  return value as number[];
}

function estimate(call: EmbeddingCall): number {
  const body = call.body as { inputText?: string; texts?: string[] };
  const texts = body.texts ?? (body.inputText !== undefined ? [body.inputText] : []);
  return texts.reduce((sum, t) => sum + Math.ceil(t.length / 4), 0);
}

function upstreamShape(problem: string, cause?: unknown): StrataError {
  return new StrataError("internal", undefined, {
    cause: new Error(`unexpected embedding response from Bedrock: ${problem}`, { cause }),
  });
}
